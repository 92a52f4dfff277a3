//! The words the corpus is made of: head nouns and compound modifiers, adverbs, laws, authorities,
//! names, streets and towns. Kept apart from the code and laid out as tables, not one word a line.

use super::vocabulary::{Gender, HeadNoun};
use Gender::{Feminine as F, Masculine as M, Neuter as N};

const fn head(
    nominative: &'static str,
    genitive: &'static str,
    plural: &'static str,
    gender: Gender,
) -> HeadNoun {
    HeadNoun { nominative, genitive, plural, gender, standalone: true }
}

/// Head nouns, the most common first.
pub(super) const HEAD_NOUNS: &[HeadNoun] = &[
    head("Antrag", "Antrags", "Anträge", M),
    // Only compounds use the bare head of the documented frequent term.
    HeadNoun { nominative: "Bescheid", genitive: "Bescheids", plural: "Bescheide", gender: M, standalone: false },
    head("Gebühr", "Gebühr", "Gebühren", F),
    head("Genehmigung", "Genehmigung", "Genehmigungen", F),
    head("Grundstück", "Grundstücks", "Grundstücke", N),
    head("Verfahren", "Verfahrens", "Verfahren", N),
    head("Widerspruch", "Widerspruchs", "Widersprüche", M),
    head("Steuer", "Steuer", "Steuern", F),
    head("Beitrag", "Beitrags", "Beiträge", M),
    head("Satzung", "Satzung", "Satzungen", F),
    head("Nachweis", "Nachweises", "Nachweise", M),
    head("Erlaubnis", "Erlaubnis", "Erlaubnisse", F),
    head("Anzeige", "Anzeige", "Anzeigen", F),
    head("Zahlung", "Zahlung", "Zahlungen", F),
    head("Prüfung", "Prüfung", "Prüfungen", F),
    head("Vertrag", "Vertrags", "Verträge", M),
    head("Gebäude", "Gebäudes", "Gebäude", N),
    head("Plan", "Plans", "Pläne", M),
    head("Bericht", "Berichts", "Berichte", M),
    head("Stellungnahme", "Stellungnahme", "Stellungnahmen", F),
    head("Mahnung", "Mahnung", "Mahnungen", F),
    head("Abgabe", "Abgabe", "Abgaben", F),
    head("Zuschuss", "Zuschusses", "Zuschüsse", M),
    head("Erstattung", "Erstattung", "Erstattungen", F),
    head("Auskunft", "Auskunft", "Auskünfte", F),
    head("Frist", "Frist", "Fristen", F),
    head("Recht", "Rechts", "Rechte", N),
    head("Amt", "Amts", "Ämter", N),
    head("Gesetz", "Gesetzes", "Gesetze", N),
    head("Verordnung", "Verordnung", "Verordnungen", F),
    head("Pflicht", "Pflicht", "Pflichten", F),
    head("Anlage", "Anlage", "Anlagen", F),
    head("Fläche", "Fläche", "Flächen", F),
    head("Förderung", "Förderung", "Förderungen", F),
    head("Ordnung", "Ordnung", "Ordnungen", F),
    head("Aufsicht", "Aufsicht", "Aufsichten", F),
    head("Behörde", "Behörde", "Behörden", F),
    head("Klage", "Klage", "Klagen", F),
    head("Beihilfe", "Beihilfe", "Beihilfen", F),
    head("Meldung", "Meldung", "Meldungen", F),
    head("Bescheinigung", "Bescheinigung", "Bescheinigungen", F),
    head("Festsetzung", "Festsetzung", "Festsetzungen", F),
    head("Ermäßigung", "Ermäßigung", "Ermäßigungen", F),
    head("Befreiung", "Befreiung", "Befreiungen", F),
    head("Nutzung", "Nutzung", "Nutzungen", F),
    head("Änderung", "Änderung", "Änderungen", F),
    head("Beschwerde", "Beschwerde", "Beschwerden", F),
    head("Leistung", "Leistung", "Leistungen", F),
    head("Vereinbarung", "Vereinbarung", "Vereinbarungen", F),
    head("Zulassung", "Zulassung", "Zulassungen", F),
    head("Bestätigung", "Bestätigung", "Bestätigungen", F),
    head("Vollmacht", "Vollmacht", "Vollmachten", F),
    head("Kontrolle", "Kontrolle", "Kontrollen", F),
    head("Abrechnung", "Abrechnung", "Abrechnungen", F),
    head("Verfügung", "Verfügung", "Verfügungen", F),
    head("Rechnung", "Rechnung", "Rechnungen", F),
    head("Gutachten", "Gutachtens", "Gutachten", N),
    head("Konzept", "Konzepts", "Konzepte", N),
    head("Register", "Registers", "Register", N),
    head("Kataster", "Katasters", "Kataster", N),
    head("Zeugnis", "Zeugnisses", "Zeugnisse", N),
    head("Verzeichnis", "Verzeichnisses", "Verzeichnisse", N),
    head("Formular", "Formulars", "Formulare", N),
    head("Protokoll", "Protokolls", "Protokolle", N),
    head("Konto", "Kontos", "Konten", N),
    head("Geld", "Geldes", "Gelder", N),
    head("Vorhaben", "Vorhabens", "Vorhaben", N),
    head("Gebiet", "Gebiets", "Gebiete", N),
    head("Ergebnis", "Ergebnisses", "Ergebnisse", N),
    head("Angebot", "Angebots", "Angebote", N),
    head("Beschluss", "Beschlusses", "Beschlüsse", M),
    head("Entwurf", "Entwurfs", "Entwürfe", M),
    head("Ausweis", "Ausweises", "Ausweise", M),
    head("Schein", "Scheins", "Scheine", M),
    head("Vermerk", "Vermerks", "Vermerke", M),
    head("Auftrag", "Auftrags", "Aufträge", M),
    head("Zuschlag", "Zuschlags", "Zuschläge", M),
    head("Betrieb", "Betriebs", "Betriebe", M),
    head("Schaden", "Schadens", "Schäden", M),
    head("Anschluss", "Anschlusses", "Anschlüsse", M),
    head("Bedarf", "Bedarfs", "Bedarfe", M),
    head("Eingriff", "Eingriffs", "Eingriffe", M),
    head("Standort", "Standorts", "Standorte", M),
    head("Zugang", "Zugangs", "Zugänge", M),
    head("Termin", "Termins", "Termine", M),
    head("Verstoß", "Verstoßes", "Verstöße", M),
    head("Ausgleich", "Ausgleichs", "Ausgleiche", M),
    head("Zweck", "Zwecks", "Zwecke", M),
];

/// Plurals whose dative adds an `n`; every other plural keeps its form.
pub(super) const DATIVE_PLURALS: &[(&str, &str)] = &[
    ("Anträge", "Anträgen"), ("Bescheide", "Bescheiden"), ("Grundstücke", "Grundstücken"),
    ("Widersprüche", "Widersprüchen"), ("Beiträge", "Beiträgen"), ("Nachweise", "Nachweisen"),
    ("Erlaubnisse", "Erlaubnissen"), ("Verträge", "Verträgen"), ("Pläne", "Plänen"),
    ("Berichte", "Berichten"), ("Zuschüsse", "Zuschüssen"), ("Auskünfte", "Auskünften"),
    ("Rechte", "Rechten"), ("Ämter", "Ämtern"), ("Gesetze", "Gesetzen"), ("Konzepte", "Konzepten"),
    ("Zeugnisse", "Zeugnissen"), ("Verzeichnisse", "Verzeichnissen"), ("Formulare", "Formularen"),
    ("Protokolle", "Protokollen"), ("Gelder", "Geldern"), ("Gebiete", "Gebieten"),
    ("Ergebnisse", "Ergebnissen"), ("Angebote", "Angeboten"), ("Beschlüsse", "Beschlüssen"),
    ("Entwürfe", "Entwürfen"), ("Ausweise", "Ausweisen"), ("Scheine", "Scheinen"), ("Vermerke", "Vermerken"),
    ("Aufträge", "Aufträgen"), ("Zuschläge", "Zuschlägen"), ("Betriebe", "Betrieben"),
    ("Anschlüsse", "Anschlüssen"), ("Bedarfe", "Bedarfen"), ("Eingriffe", "Eingriffen"),
    ("Standorte", "Standorten"), ("Zugänge", "Zugängen"), ("Termine", "Terminen"), ("Verstöße", "Verstößen"),
    ("Ausgleiche", "Ausgleichen"), ("Zwecke", "Zwecken"),
];

/// First parts of compounds, with their linking element.
pub(super) const MODIFIERS: &[&str] = &[
    "Bau", "Wohn", "Grundstücks", "Abfall", "Abwasser", "Gewerbe", "Straßen", "Park", "Wasser", "Miet",
    "Kinder", "Hunde", "Schul", "Sozial", "Jugend", "Umwelt", "Verkehrs", "Feuerwehr", "Friedhofs",
    "Erschließungs", "Anlieger", "Markt", "Sonder", "Nutzungs", "Verwaltungs", "Bußgeld", "Melde", "Pass",
    "Gaststätten", "Lärm", "Immissions", "Denkmal", "Natur", "Garten", "Wald", "Kanal", "Einkommens",
    "Vermögens", "Unterhalts", "Pflege", "Renten", "Versorgungs", "Gesundheits", "Aufenthalts",
    "Einbürgerungs", "Wahl", "Standes", "Geburts", "Sterbe", "Ehe", "Reise", "Fahr", "Führerschein",
    "Haushalts", "Kassen", "Steuer", "Zweitwohnungs", "Vergnügungs", "Brand", "Katastrophen", "Sperr", "Rück",
    "Nach", "Voraus", "Teil", "Gesamt", "Jahres", "Quartals", "Monats", "Grün",
];

pub(super) const ADVERBS: &[&str] = &[
    "fristgerecht", "ordnungsgemäß", "unverzüglich", "vollständig", "abschließend", "eingehend", "sorgfältig",
    "zeitnah", "nachweislich", "vorsorglich", "ergänzend", "umgehend", "erneut", "ausnahmsweise", "nochmals",
    "hilfsweise", "vorläufig", "endgültig", "schriftlich", "rechtzeitig",
];

pub(super) const LAWS: &[&str] = &[
    "VwVfG", "BauGB", "BauO NRW", "BayBO", "KAG", "AO", "SGB X", "SGB II", "WoGG", "GewO", "StVO", "OWiG",
    "BImSchG", "LBO", "VwGO", "GemO", "BeurkG", "PStG",
];

/// Authorities, to be followed by a town.
pub(super) const AUTHORITIES: &[&str] = &[
    "Landratsamt", "Finanzamt", "Jobcenter", "Standesamt", "Gesundheitsamt", "Straßenverkehrsamt", "Bauamt",
    "Ordnungsamt", "Sozialamt", "Jugendamt", "Amtsgericht", "Katasteramt",
];

pub(super) const PORTALS: &[&str] = &[
    "XBau-Portal", "Gewerbe-Service-Portal", "OZG-Serviceportal", "ELSTER-Schnittstelle",
    "Onlinezugang Wohngeld", "Bürgerservice-Portal", "XMeld-Nachricht", "Fachverfahren Kasse",
];

pub(super) const MAIL_DOMAINS: &[&str] = &[
    "web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de", "freenet.de",
    "kanzlei-recht.de",
];

/// Company names; `#` is replaced by a surname.
pub(super) const COMPANIES: &[&str] = &[
    "# Bau GmbH", "Ingenieurbüro #", "Rechtsanwälte # & Partner", "Hausverwaltung #",
    "# Immobilien GmbH & Co. KG", "Steuerberatung #", "Architekturbüro #", "# Gebäudetechnik e. K.",
];

/// Surnames, the most common first; sampled with a flat Zipf distribution.
pub(super) const SURNAMES: &[&str] = &[
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
    "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
    "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel",
    "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann",
    "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
    "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas",
    "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch",
    "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer", "Yılmaz", "Kaya", "Demir", "Şahin",
    "Çelik", "Nowak", "Kowalski", "Wiśniewski", "Popescu", "Nguyen", "Ivanov", "Petrović", "Rossi", "Hansen",
    "Jansen", "Petersen", "Lüdtke", "Düring", "Thießen", "Größer", "Öztürk", "Bäcker", "Köster", "Brückner",
    "Förster", "Gärtner", "Hübner", "Kröger", "Löffler", "Mößner", "Nußbaum", "Rößler", "Süß", "Wächter",
    "Zöllner", "Ahrens", "Bachmann", "Dreßler", "Eberhardt", "Fiedler", "Gerlach", "Hesse", "Ilgner",
    "Jakobs", "Kirchner", "Lindner", "Marx", "Nickel", "Oswald", "Pape", "Quast", "Rieger", "Seifert",
    "Thiele", "Ulrich", "Vetter", "Wendt", "Zander",
];

pub(super) const FIRST_NAMES: &[&str] = &[
    "Thomas", "Andreas", "Michael", "Stefan", "Sabine", "Petra", "Claudia", "Jürgen", "Monika", "Frank",
    "Anja", "Markus", "Birgit", "Jörg", "Susanne", "Klaus", "Günter", "Ursula", "Björn", "Kerstin",
    "Matthias", "Nicole", "Uwe", "Andrea", "Dieter", "Karin", "Hans-Jürgen", "Renate", "Jan", "Julia",
    "Lukas", "Lea", "Finn", "Hannah", "Jonas", "Sophie", "Mehmet", "Ayşe", "Fatma", "Piotr", "Anna", "Sören",
    "Käthe", "Dörte", "Jürgen-Peter", "Gülay", "Özlem", "René", "Zoë", "Maximilian", "Emilia", "Paul",
    "Marie", "Felix", "Lena", "Tobias", "Katharina", "Florian", "Laura", "Sebastian", "Johanna",
];

/// First parts of street names, followed by `straße`, `weg` and the like.
pub(super) const STREET_STEMS: &[&str] = &[
    "Haupt", "Bahnhof", "Schul", "Kirch", "Garten", "Berg", "Wald", "Linden", "Eichen", "Birken", "Ahorn",
    "Buchen", "Rosen", "Tulpen", "Mühlen", "Brunnen", "Markt", "Rathaus", "Post", "Schiller", "Goethe",
    "Beethoven", "Mozart", "Bismarck", "Wiesen", "Feld", "Bach", "Sonnen", "Friedhof", "Industrie",
    "Kastanien", "Fichten", "Tannen", "Heide", "Dorf", "Jahn", "Uhland", "Lessing", "Kant", "Hölderlin",
    "Schützen", "Blumen", "Burg", "Schloss", "Hafen", "Brücken", "Gerber", "Weber", "Müller", "Königs",
];

/// Town adjectives and others that form two-word street names with "Straße".
pub(super) const STREET_ADJECTIVES: &[&str] = &[
    "Berliner", "Kölner", "Frankfurter", "Hamburger", "Münchener", "Dürener", "Bonner", "Aachener",
    "Düsseldorfer", "Lange", "Neue", "Alte", "Breite", "Hohe",
];

pub(super) const STREETS_AS_IS: &[&str] = &[
    "Am Markt", "An der Kirche", "Im Wiesengrund", "Zur Mühle", "Konrad-Adenauer-Straße",
    "Friedrich-Ebert-Straße", "Auf dem Sand", "Unter den Linden", "Am Bürgerpark",
];

#[derive(Clone, Copy)]
pub(super) struct Town {
    pub(super) name: &'static str,
    pub(super) postcode_prefix: &'static str,
    pub(super) area_code: &'static str,
}

const fn town(name: &'static str, postcode_prefix: &'static str, area_code: &'static str) -> Town {
    Town { name, postcode_prefix, area_code }
}

pub(super) const TOWNS: &[Town] = &[
    town("Köln", "50", "0221"),
    town("München", "80", "089"),
    town("Düsseldorf", "40", "0211"),
    town("Lübeck", "23", "0451"),
    town("Göttingen", "37", "0551"),
    town("Würzburg", "97", "0931"),
    town("Osnabrück", "49", "0541"),
    town("Saarbrücken", "66", "0681"),
    town("Fürth", "90", "0911"),
    town("Mönchengladbach", "41", "02161"),
    town("Tübingen", "72", "07071"),
    town("Lüneburg", "21", "04131"),
    town("Bielefeld", "33", "0521"),
    town("Münster", "48", "0251"),
    town("Gießen", "35", "0641"),
    town("Jülich", "52", "02461"),
    town("Düren", "52", "02421"),
    town("Bonn", "53", "0228"),
    town("Aachen", "52", "0241"),
    town("Essen", "45", "0201"),
    town("Dortmund", "44", "0231"),
    town("Hannover", "30", "0511"),
    town("Kassel", "34", "0561"),
    town("Erfurt", "99", "0361"),
    town("Weißenfels", "06", "03443"),
    town("Görlitz", "02", "03581"),
    town("Zwickau", "08", "0375"),
    town("Brandenburg an der Havel", "14", "03381"),
    town("Greifswald", "17", "03834"),
    town("Flensburg", "24", "0461"),
    town("Oldenburg", "26", "0441"),
    town("Paderborn", "33", "05251"),
    town("Siegen", "57", "0271"),
    town("Koblenz", "56", "0261"),
    town("Trier", "54", "0651"),
    town("Mainz", "55", "06131"),
    town("Heidelberg", "69", "06221"),
    town("Freiburg im Breisgau", "79", "0761"),
    town("Konstanz", "78", "07531"),
    town("Regensburg", "93", "0941"),
    town("Bamberg", "96", "0951"),
    town("Straßberg", "06", "039489"),
];
