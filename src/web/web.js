// Search as you type: the Akten matching the search field replace the choices of the assign form.
const field = document.getElementById("akte-suche");
if (field) {
  let timer;
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = field.value;
      const response = await fetch("/akten/suche?q=" + encodeURIComponent(query), { credentials: "same-origin" });
      // An answer to an earlier query that arrives late must not replace the newer choices.
      if (response.ok && field.value === query) {
        const box = document.getElementById("akten-treffer");
        const legend = box.querySelector("legend");
        box.replaceChildren(legend, document.createRange().createContextualFragment(await response.text()));
      }
    }, 200);
  });
}
