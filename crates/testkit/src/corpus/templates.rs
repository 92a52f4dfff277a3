//! Sentence templates: text with `{slot}` markers that `Draft` fills per document, parsed once when
//! the corpus is built. The documented terms occur only in their own templates.

/// A piece of a template: text as written, or a slot filled per document.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Part {
    Text(&'static str),
    Slot(Slot),
}

pub(super) type Template = Vec<Part>;

/// What a `{name}` in a template stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Slot {
    /// `{nom}`, `{Nom}`: a noun with its article, singular (the verb agrees).
    Nominative {
        capital: bool,
    },
    /// `{nomp}`, `{Nomp}`: the same in the plural.
    NominativePlural {
        capital: bool,
    },
    /// `{acc}`, `{dat}`, `{gen}`: a noun with its article, singular or plural.
    Accusative,
    Dative,
    Genitive,
    /// `{noun}`: a noun without article, nominative singular.
    Noun,
    Adverb,
    /// `{law}`: `§ 12 Abs. 3 VwVfG`.
    Law,
    /// `{date}`: a day up to 400 days before the Posteingang.
    Date,
    /// `{deadline}`: a day 7 to 90 days after the Posteingang.
    Deadline,
    /// `{letterdate}`: the day the letter was written, a few days before it arrived.
    LetterDate,
    Posteingang,
    Year,
    /// `{amount}`: `1.234,56 €`.
    Amount,
    /// `{az}`: the document's Aktenzeichen, `32.10.05-17/2025`.
    Aktenzeichen,
    /// `{kz}`: a Kassenzeichen, `5.2000.123456.7`.
    Kassenzeichen,
    Iban,
    Phone,
    /// `{small}`: 1 to 30.
    Small,
    /// `{parcel}`: a Flurstück number, `123/4`.
    Parcel,
    /// `{area}`: square metres.
    Area,
    /// `{time}`: `10.30`.
    Time,
    /// `{name}`: first name and surname.
    Name,
    /// `{clerk}`: `Frau Müller`.
    Clerk,
    Surname,
    /// `{street}`: a street with house number.
    Street,
    /// `{city}`: postcode and town; `{town}`: the town alone.
    City,
    Town,
    /// `{authority}`: `Landratsamt Göttingen`.
    Authority,
    Portal,
    /// `{topic}`: what the document's unit deals with (`Baugenehmigung`).
    Topic,
    /// `{unit}`: the document's Aktenplan key.
    Unit,
    Title,
    Sender,
}

impl Slot {
    pub(super) fn from_name(name: &str) -> Option<Slot> {
        Some(match name {
            "nom" => Slot::Nominative { capital: false },
            "Nom" => Slot::Nominative { capital: true },
            "nomp" => Slot::NominativePlural { capital: false },
            "Nomp" => Slot::NominativePlural { capital: true },
            "acc" => Slot::Accusative,
            "dat" => Slot::Dative,
            "gen" => Slot::Genitive,
            "noun" => Slot::Noun,
            "adv" => Slot::Adverb,
            "law" => Slot::Law,
            "date" => Slot::Date,
            "deadline" => Slot::Deadline,
            "letterdate" => Slot::LetterDate,
            "posteingang" => Slot::Posteingang,
            "year" => Slot::Year,
            "amount" => Slot::Amount,
            "az" => Slot::Aktenzeichen,
            "kz" => Slot::Kassenzeichen,
            "iban" => Slot::Iban,
            "phone" => Slot::Phone,
            "small" => Slot::Small,
            "parcel" => Slot::Parcel,
            "area" => Slot::Area,
            "time" => Slot::Time,
            "name" => Slot::Name,
            "clerk" => Slot::Clerk,
            "surname" => Slot::Surname,
            "street" => Slot::Street,
            "city" => Slot::City,
            "town" => Slot::Town,
            "authority" => Slot::Authority,
            "portal" => Slot::Portal,
            "topic" => Slot::Topic,
            "unit" => Slot::Unit,
            "title" => Slot::Title,
            "sender" => Slot::Sender,
            _ => return None,
        })
    }
}

/// Splits `text` at `{slot}` markers. A marker with an unknown name stays text (a test keeps the
/// templates free of them).
pub(super) fn parse_template(text: &'static str) -> Template {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|close| open + close) else { break };
        if open > 0 {
            parts.push(Part::Text(&rest[..open]));
        }
        match Slot::from_name(&rest[open + 1..close]) {
            Some(slot) => parts.push(Part::Slot(slot)),
            None => parts.push(Part::Text(&rest[open..=close])),
        }
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    parts
}

/// All templates, parsed once.
pub(super) struct Templates {
    pub(super) sentences: Vec<Template>,
    pub(super) frequent_sentences: Vec<Template>,
    pub(super) frequent_other_forms: Vec<Template>,
    pub(super) medium_sentences: Vec<Template>,
    pub(super) rare_sentences: Vec<Template>,
    pub(super) titles: Vec<Template>,
    pub(super) frequent_titles: Vec<Template>,
    pub(super) medium_titles: Vec<Template>,
    pub(super) letter_header: Template,
    pub(super) email_header: Template,
    pub(super) portal_header: Template,
    pub(super) note_header: Template,
    pub(super) greetings: Vec<Template>,
    pub(super) closings: Vec<Template>,
}

impl Templates {
    pub(super) fn new() -> Templates {
        let all = |texts: &[&'static str]| texts.iter().map(|text| parse_template(text)).collect();
        Templates {
            sentences: all(SENTENCES),
            frequent_sentences: all(FREQUENT_SENTENCES),
            frequent_other_forms: all(FREQUENT_OTHER_FORMS),
            medium_sentences: all(MEDIUM_SENTENCES),
            rare_sentences: all(RARE_SENTENCES),
            titles: all(TITLES),
            frequent_titles: all(FREQUENT_TITLES),
            medium_titles: all(MEDIUM_TITLES),
            letter_header: parse_template(LETTER_HEADER),
            email_header: parse_template(EMAIL_HEADER),
            portal_header: parse_template(PORTAL_HEADER),
            note_header: parse_template(NOTE_HEADER),
            greetings: all(GREETINGS),
            closings: all(CLOSINGS),
        }
    }
}

/// Sentences of any document. None contains a documented term.
pub(super) const SENTENCES: &[&str] = &[
    "Bezug nehmend auf {acc} vom {date} teilen wir Ihnen Folgendes mit.",
    "Hiermit beantrage ich {acc} für das Grundstück {street} in {city}.",
    "Die Prüfung {gen} hat ergeben, dass {nom} {adv} vorliegt.",
    "Gemäß {law} ist {nom} innerhalb eines Monats nach Bekanntgabe schriftlich einzureichen.",
    "Wir bitten Sie, die fehlenden Unterlagen zu {dat} bis zum {deadline} nachzureichen.",
    "Der Betrag in Höhe von {amount} ist bis zum {deadline} unter Angabe des Kassenzeichens {kz} an die Stadtkasse zu überweisen.",
    "Bitte geben Sie bei allen Zuschriften das Aktenzeichen {az} an.",
    "Für Rückfragen steht Ihnen {clerk} unter der Rufnummer {phone} zur Verfügung.",
    "Im Rahmen {gen} wurden die Angaben zu {dat} {adv} geprüft.",
    "Die Unterlagen zu {dat} liegen uns seit dem {date} vollständig vor.",
    "Nach Aktenlage ist {nom} nicht zu beanstanden.",
    "Eine Entscheidung über {acc} kann erst nach Eingang {gen} getroffen werden.",
    "Die Anhörung nach § 28 VwVfG wurde am {date} durchgeführt.",
    "Die Kosten {gen} trägt der Antragsteller.",
    "Die Widersprüche der Anwohner gegen {acc} werden gesondert beschieden.",
    "Das Grundstück {street}, Gemarkung {town}, Flur {small}, Flurstück {parcel}, liegt im Geltungsbereich des Bebauungsplans Nr. {small}.",
    "Die Gebühren richten sich nach der Verwaltungsgebührensatzung in der Fassung vom {date}.",
    "Wir weisen darauf hin, dass {nom} ohne weitere Aufforderung fällig wird.",
    "Mit Schreiben vom {date} hat {name} {acc} beantragt.",
    "Die Stellungnahme {gen} ist diesem Schreiben als Anlage beigefügt.",
    "Es wird gebeten, {acc} unter Angabe des Aktenzeichens {az} zurückzusenden.",
    "Über {acc} wird nach Abschluss der Ermittlungen entschieden.",
    "{Nom} wurde am {date} ortsüblich bekannt gemacht.",
    "Die Frist zur Vorlage {gen} endet am {deadline}.",
    "Sollten Sie mit {dat} nicht einverstanden sein, teilen Sie uns dies bitte schriftlich mit.",
    "Die Straße vor dem Grundstück {street} wird im Zuge {gen} vom {deadline} an voll gesperrt.",
    "Die Zahlung über {amount} wurde am {date} unter dem Kassenzeichen {kz} verbucht.",
    "Der Widerspruch ist zulässig, aber unbegründet.",
    "Das Wohngeld wird für den Bewilligungszeitraum ab dem {deadline} in Höhe von monatlich {amount} gewährt.",
    "Die Baugenehmigung erlischt, wenn innerhalb von drei Jahren nach ihrer Erteilung mit der Ausführung des Vorhabens nicht begonnen worden ist.",
    "Anträge, die nach dem {deadline} eingehen, können nicht mehr berücksichtigt werden.",
    "Die Erstattung von {amount} erfolgt auf das Konto mit der IBAN {iban}.",
    "{Nomp} sind der zuständigen Stelle {adv} vorzulegen.",
    "Ich bitte um Mitteilung, ob {nom} auch für mein Nachbargrundstück gilt.",
    "Wir haben {acc} zuständigkeitshalber an das {authority} weitergeleitet.",
    "Eine Ortsbesichtigung ist für den {deadline} um {time} Uhr vorgesehen.",
    "Bei der Berechnung {gen} wurde eine Fläche von {area} Quadratmetern zugrunde gelegt.",
    "Nach den uns vorliegenden Informationen wohnen Sie seit dem {date} unter der Anschrift {street}.",
    "Die Voraussetzungen für {acc} sind nach {law} nicht erfüllt.",
    "Ich erteile hiermit die Einwilligung zur Verarbeitung meiner Daten im Zusammenhang mit {dat}.",
    "Als Anlage übersenden wir Ihnen eine Ausfertigung {gen} zur Kenntnisnahme.",
    "Gegen diese Entscheidung kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden.",
    "Die Gebühr für {acc} beträgt {amount} und ist mit Zugang dieses Schreibens fällig.",
    "Ihr Schreiben vom {date} ist am {posteingang} bei uns eingegangen.",
    "Nach Rücksprache mit dem Fachbereich {unit} wird {nom} erneut geprüft.",
    "Die Grundsteuer für das Grundstück {street} wurde für das Jahr {year} auf {amount} festgesetzt.",
    "Die Wohnung im {small}. Obergeschoss des Hauses {street} steht seit dem {date} leer.",
    "Die Abfallbehälter sind am Abfuhrtag bis 6 Uhr am Straßenrand bereitzustellen.",
    "Die Schülerbeförderung für {name} wird ab dem {deadline} übernommen.",
    "Die Angelegenheit {topic} wird unter dem Aktenzeichen {az} geführt.",
    "{Nom} ist nach {law} genehmigungsfrei, muss aber {adv} angezeigt werden.",
    "Mit {dat} sind wir grundsätzlich einverstanden, sofern {nom} {adv} nachgewiesen wird.",
    "Der Antragsteller {name}, wohnhaft {street}, {city}, hat {acc} fristgerecht eingereicht.",
    "Zur weiteren Bearbeitung benötigen wir {acc} sowie eine Kopie {gen}.",
    "Die Sachbearbeitung liegt bei {clerk}, Zimmer {small}, erreichbar unter {phone}.",
    "Eine Verlängerung der Frist bis zum {deadline} kann ausnahmsweise gewährt werden.",
    "Die Eigentümerin des Grundstücks {street} hat gegen {acc} Einwendungen erhoben.",
    "Nach {law} entfällt {nom}, wenn die Voraussetzungen nicht mehr vorliegen.",
    "Das Protokoll der Sitzung vom {date} liegt im {authority} zur Einsicht aus.",
    "Auf {acc} wird verwiesen.",
    "Die Höhe {gen} bemisst sich nach der Grundfläche von {area} Quadratmetern.",
    "Wir bestätigen den Eingang Ihrer Unterlagen zu {dat} am {posteingang}.",
];

/// Sentences with [`FREQUENT_TERM`] in exactly that form.
pub(super) const FREQUENT_SENTENCES: &[&str] = &[
    "Gegen den Bescheid vom {date}, Aktenzeichen {az}, lege ich hiermit fristgerecht Widerspruch ein.",
    "Der Bescheid ist mir am {date} zugegangen.",
    "Mit dem Bescheid vom {date} wurde {nom} auf {amount} festgesetzt.",
    "Der Bescheid wird hiermit gemäß {law} aufgehoben.",
    "Den Bescheid über {acc} erhalten Sie gesondert.",
];

/// Sentences with other forms of [`FREQUENT_TERM`], only ever after one of [`FREQUENT_SENTENCES`].
pub(super) const FREQUENT_OTHER_FORMS: &[&str] = &[
    "Die Begründung des Bescheides ist für mich nicht nachvollziehbar.",
    "Ich bitte, die Bescheide für die Jahre {year} und {year} erneut zu überprüfen.",
    "In den Bescheiden wurde die Grundstücksfläche fehlerhaft angesetzt.",
    "Eine Kopie des Bescheides liegt diesem Schreiben bei.",
];

pub(super) const MEDIUM_SENTENCES: &[&str] = &[
    "Hiermit melde ich meinen Hund zum {deadline} zur Hundesteuer an.",
    "Die Hundesteuer für das Jahr {year} wird auf {amount} festgesetzt.",
    "Wir bitten Sie, die Hundesteuer bis zum {deadline} zu entrichten.",
];

pub(super) const RARE_SENTENCES: &[&str] = &[
    "Mein Fischereischein Nr. {small} läuft am {deadline} ab.",
    "Beigefügt erhalten Sie den Fischereischein für {name} zur Verlängerung.",
];

pub(super) const TITLES: &[&str] = &[
    "{topic}",
    "Antrag: {topic}",
    "{topic}, {street}",
    "Nachreichung von Unterlagen zum Aktenzeichen {az}",
    "Sachstandsanfrage {topic}",
    "{topic} – {surname}",
    "Erinnerung: {topic}",
    "{topic} {year}",
];

pub(super) const FREQUENT_TITLES: &[&str] =
    &["Widerspruch gegen den Bescheid vom {date}", "Bescheid {topic} {year}"];

pub(super) const MEDIUM_TITLES: &[&str] = &["Hundesteuer {year}"];

pub(super) const LETTER_HEADER: &str = "{sender}\n{street}\n{city}\n\nStadtverwaltung {town}\nPostfach\n\n{town}, {letterdate}\n\nBetreff: {title}\nIhr Zeichen: {az}\n\n";
pub(super) const EMAIL_HEADER: &str =
    "Von: {sender}\nGesendet: {letterdate}\nBetreff: {title}\nIhr Zeichen: {az}\n\n";
pub(super) const PORTAL_HEADER: &str = "Vorgangsnummer: {kz}\nEingangskanal: {portal}\nAntragsart: {topic}\nSchlagworte: {noun}, {noun}, {noun}\nAntragsteller: {name}, {street}, {city}\nAktenzeichen: {az}\n\n";
pub(super) const NOTE_HEADER: &str = "Aktenvermerk\nBetreff: {title}\nAktenzeichen: {az}\n\n";

pub(super) const GREETINGS: &[&str] = &[
    "Sehr geehrte Damen und Herren,\n\n",
    "Sehr geehrte Frau {surname},\n\n",
    "Sehr geehrter Herr {surname},\n\n",
];

pub(super) const CLOSINGS: &[&str] = &[
    "\n\nMit freundlichen Grüßen\n{name}",
    "\n\nMit freundlichen Grüßen\nIm Auftrag\n{name}",
    "\n\nHochachtungsvoll\n{name}",
];
