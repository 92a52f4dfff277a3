// Search as you type: the Akten matching the search field replace the choices of the assign form.
const field = document.getElementById("akte-suche");
if (field) {
  let timer;
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch("/akten/suche?q=" + encodeURIComponent(field.value), { credentials: "same-origin" });
      if (response.ok) {
        const box = document.getElementById("akten-treffer");
        const legend = box.querySelector("legend");
        box.replaceChildren(legend, document.createRange().createContextualFragment(await response.text()));
      }
    }, 200);
  });
}
