//! The lifecycle through the real server: retention and the due list under a moving clock, legal holds,
//! Wiederaufnahme, corrections kept in the history, and the Aussonderung offer (0501, checked with
//! xmllint against the xdomea 3.0.0 XSD), appraisal import (0502 → 0505) and handover (0503 zip).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use registratur::records::lifecycle::DokumentCorrection;
use registratur::records::repo::AkteRef;
use registratur::service::DocumentHeader;
use registratur_storage::clock::ManualClock;
use tonic::Code;

use crate::support::{ARCHIVIST, FACHVERFAHREN, FACHVERFAHREN_32, TestServer};

const PLAN: &str = "kennzeichen;titel;aufbewahrung;aussonderungsart\n\
                    32;Ordnung;10;B\n32.10;Gewerbe;;\n50;Soziales;5;V\n60;Bauen;unbegrenzt;A\n";

fn day(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

fn code<T: std::fmt::Debug>(result: Result<T, registratur::grpc::client::ClientError>) -> (Code, String) {
    match result {
        Err(registratur::grpc::client::ClientError::Rpc { code, message }) => (code, message),
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

fn header(akte: u64, vorgang: Option<u64>, title: &str) -> DocumentHeader {
    DocumentHeader {
        akte: AkteRef::Id(akte),
        vorgang_id: vorgang,
        title: title.into(),
        sender: "Erika Musterman".into(),
        fremdes_geschaeftszeichen: "AZ 4711".into(),
        posteingangsdatum: "2026-03-01".into(),
        channel: "email".into(),
        source: "test".into(),
        filename: "antrag.txt".into(),
        media_type: "text/plain".into(),
    }
}

/// An Akte in `unit` with a Vorgang, a Dokument in the Akte and one in the Vorgang, closed now.
async fn closed_akte(server: &TestServer, unit: &str, title: &str) -> (u64, u64, Vec<u64>) {
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let akte = fv.create_akte(unit, title, None, None).await.unwrap();
    let vorgang = fv.create_vorgang(&AkteRef::Id(akte.id), "Antragsprüfung").await.unwrap();
    let direct = fv.add_document(header(akte.id, None, "Antrag"), std::io::Cursor::new(b"Antrag".to_vec()));
    let direct = direct.await.unwrap();
    let inner = fv
        .add_document(header(akte.id, Some(vorgang.id), "Prüfvermerk"), std::io::Cursor::new(b"ok".to_vec()));
    let inner = inner.await.unwrap();
    fv.close_akte(&AkteRef::Id(akte.id), "erledigt").await.unwrap();
    (akte.id, vorgang.id, vec![direct.dokument.id, inner.dokument.id])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_holds_reopening_and_corrections_through_the_server() {
    let clock = ManualClock::new(day(2026, 3, 1));
    let server = TestServer::start_with_clock(Arc::new(clock.clone())).await;
    let mut admin = server.client().await;
    admin.import_aktenplan(PLAN.into()).await.unwrap();
    clock.set(day(2026, 5, 4));
    let (akte_id, _, dokumente) = closed_akte(&server, "32.10", "Gewerbeanmeldung Müller").await;
    let akte = AkteRef::Id(akte_id);
    let mut archivist = server.client_as(ARCHIVIST).await;
    let mut fv = server.client_as(FACHVERFAHREN).await;

    let status = fv.retention(&akte).await.unwrap();
    assert_eq!(
        (status.retention.as_str(), status.aussonderungsart.as_str()),
        ("10", "B"),
        "inherited from 32"
    );
    assert_eq!((status.closed_on.as_str(), status.due_on.as_str()), ("2026-05-04", "2037-01-01"));
    assert!(!status.due);

    clock.set(day(2036, 12, 31));
    assert!(archivist.due_akten(0).await.unwrap().is_empty(), "not due on the retention's last day");
    clock.set(day(2037, 1, 1));
    let due = archivist.due_akten(0).await.unwrap();
    assert_eq!(due.iter().map(|r| r.akte.id).collect::<Vec<_>>(), [akte_id]);
    assert!(archivist.retention(&akte).await.unwrap().due);
    assert_eq!(code(fv.due_akten(0).await).0, Code::PermissionDenied, "the due list is the archive's");

    // A hold: only archivist or admin, and it stops the due list and the offer.
    assert_eq!(code(fv.place_hold(&akte, "Rechtsstreit").await).0, Code::PermissionDenied);
    let hold = archivist.place_hold(&akte, "Rechtsstreit 3 K 12/36").await.unwrap();
    assert_eq!((hold.placed_by.as_str(), hold.akte_id), ("archivist", akte_id));
    assert_eq!(code(admin.place_hold(&akte, "noch einmal").await).0, Code::FailedPrecondition);
    assert!(archivist.due_akten(0).await.unwrap().is_empty(), "a held Akte is not due");
    let held = archivist.retention(&akte).await.unwrap();
    assert!(!held.due && held.hold.as_ref().is_some_and(|h| h.reason == "Rechtsstreit 3 K 12/36"));
    assert_eq!(archivist.holds().await.unwrap().len(), 1);
    let mut sink = Vec::new();
    let (refused, message) =
        code(archivist.offer(None, "Kreis Musterstadt", "Landesarchiv", &mut sink).await);
    assert_eq!(refused, Code::FailedPrecondition, "{message}");
    assert!(sink.is_empty(), "nothing written for a refused offer");
    assert_eq!(code(archivist.place_hold(&AkteRef::Id(9999), "x").await).0, Code::NotFound);
    archivist.release_hold(&akte, "Verfahren beendet").await.unwrap();
    assert_eq!(code(archivist.release_hold(&akte, "x").await).0, Code::FailedPrecondition);
    assert!(archivist.holds().await.unwrap().is_empty());
    assert_eq!(archivist.due_akten(0).await.unwrap().len(), 1, "due again after the release");

    // Wiederaufnahme stops the clock; the next close starts it again.
    let scoped_out = server.client_as(FACHVERFAHREN_32).await.reopen_akte(&AkteRef::Id(9999), "x").await;
    assert_eq!(code(scoped_out).0, Code::NotFound);
    assert_eq!(code(archivist.reopen_akte(&akte, "Widerspruch").await).0, Code::PermissionDenied);
    let reopened = fv.reopen_akte(&akte, "Widerspruch eingegangen").await.unwrap();
    assert!(reopened.is_open());
    assert_eq!(code(fv.reopen_akte(&akte, "noch einmal").await).0, Code::FailedPrecondition);
    let open = fv.retention(&akte).await.unwrap();
    assert_eq!((open.closed_on.as_str(), open.due_on.as_str(), open.due), ("", "", false));
    assert!(archivist.due_akten(0).await.unwrap().is_empty());
    clock.set(day(2037, 2, 1));
    fv.close_akte(&akte, "erledigt").await.unwrap();
    assert_eq!(fv.retention(&akte).await.unwrap().due_on, "2048-01-01");

    // Corrections: the new value is current, the old one stays in the history with the reason.
    let corrected = fv.correct_akte(&akte, Some("Gewerbeanmeldung Müller GmbH".into()), "Firmenname").await;
    assert_eq!(corrected.unwrap().title, "Gewerbeanmeldung Müller GmbH");
    let same = fv.correct_akte(&akte, Some("Gewerbeanmeldung Müller GmbH".into()), "x").await;
    assert_eq!(code(same).0, Code::InvalidArgument);
    let correction = DokumentCorrection { sender: Some("Erika Mustermann".into()), ..Default::default() };
    let dokument = fv.correct_dokument(dokumente[0], correction, "Tippfehler").await.unwrap();
    assert_eq!(dokument.dokument.sender, "Erika Mustermann");
    assert_eq!(fv.document(dokumente[0]).await.unwrap().dokument.sender, "Erika Mustermann");
    let history = fv.document_history(dokumente[0]).await.unwrap();
    let entry = history.iter().find(|e| e.action == "dokument.correct").expect("a correction entry");
    let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
    assert_eq!(details["changes"][0]["old"], "Erika Musterman");
    assert_eq!(details["changes"][0]["new"], "Erika Mustermann");
    assert_eq!(details["reason"], "Tippfehler");
    let actions: Vec<String> = fv.akte_history(&akte).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in ["akte.hold", "akte.hold.release", "akte.reopen", "akte.correct", "dokument.correct"] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
    let entry =
        fv.akte_history(&akte).await.unwrap().into_iter().find(|e| e.action == "akte.correct").unwrap();
    assert!(entry.details.contains("Gewerbeanmeldung Müller\""), "old title kept: {}", entry.details);
    server.stop().await;
}

/// A 0502 from the archive: `decisions` are (UUID, "A" or "V").
fn bewertungsverzeichnis(prozess_id: &str, decisions: &[(String, &str)]) -> Vec<u8> {
    let objects: String = decisions
        .iter()
        .map(|(uuid, code)| {
            format!(
                "<xdomea:BewertetesObjekt><xdomea:ID>{uuid}</xdomea:ID><xdomea:Aussonderungsart>\
                 <xdomea:Aussonderungsart listURI=\"urn:xoev-de:xdomea:codeliste:aussonderungsart\" \
                 listVersionID=\"1.0\"><code>{code}</code></xdomea:Aussonderungsart>\
                 </xdomea:Aussonderungsart></xdomea:BewertetesObjekt>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <xdomea:Aussonderung.Bewertungsverzeichnis.0502 xmlns:xdomea=\"urn:xoev-de:xdomea:schema:3.0.0\">\
         <xdomea:Kopf><xdomea:ProzessID>{prozess_id}</xdomea:ProzessID>\
         <xdomea:Nachrichtentyp listURI=\"urn:xoev-de:xdomea:codeliste:nachrichtentyp\" listVersionID=\"2.0\">\
         <code>0502</code></xdomea:Nachrichtentyp>\
         <xdomea:Erstellungszeitpunkt>2037-03-02T09:15:00+01:00</xdomea:Erstellungszeitpunkt>\
         <xdomea:Absender><xdomea:Institution><xdomea:Name>Landesarchiv NRW</xdomea:Name></xdomea:Institution></xdomea:Absender>\
         <xdomea:Empfaenger><xdomea:Institution><xdomea:Name>Kreis Musterstadt</xdomea:Name></xdomea:Institution></xdomea:Empfaenger>\
         <xdomea:SendendesSystem><xdomea:Produktname>xdomea_toolkit</xdomea:Produktname><xdomea:Version>1.4</xdomea:Version></xdomea:SendendesSystem>\
         <xdomea:Empfangsbestaetigung>true</xdomea:Empfangsbestaetigung></xdomea:Kopf>{objects}\
         </xdomea:Aussonderung.Bewertungsverzeichnis.0502>"
    )
    .into_bytes()
}

/// Runs `xmllint --schema` of the xdomea 3.0.0 XSD over `xml`.
fn validates(xml: &[u8], name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, xml).unwrap();
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/xdomea/schema/3.0.0/schemes/xdomea.xsd");
    let output = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", schema])
        .arg(&path)
        .output()
        .expect("xmllint (libxml2-utils, scripts/install-deps) runs");
    assert!(output.status.success(), "{name} does not validate: {}", String::from_utf8_lossy(&output.stderr));
}

fn akte_uuid(id: u64) -> String {
    registratur_xdomea::stable_uuid("akte", id.to_string()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_appraisal_and_handover_write_valid_xdomea_and_refuse_what_does_not_fit() {
    let clock = ManualClock::new(day(2026, 3, 1));
    let server = TestServer::start_with_clock(Arc::new(clock.clone())).await;
    let mut admin = server.client().await;
    admin.import_aktenplan(PLAN.into()).await.unwrap();
    let (first, vorgang, dokumente) = closed_akte(&server, "32.10", "Gewerbe A").await;
    let (second, _, _) = closed_akte(&server, "32", "Ordnung B").await;
    let (social, _, _) = closed_akte(&server, "50", "Sozialhilfe C").await;
    let (forever, _, _) = closed_akte(&server, "60", "Bauakte D").await;
    clock.set(day(2040, 1, 1));
    let mut archivist = server.client_as(ARCHIVIST).await;
    let due: Vec<u64> = archivist.due_akten(0).await.unwrap().iter().map(|r| r.akte.id).collect();
    assert_eq!(due.len(), 3, "unbegrenzt is never due: {due:?}");
    assert!(!due.contains(&forever));

    // Offer the subtree 32: two Akten, with their Vorgänge and Dokumente.
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let mut sink = Vec::new();
    assert_eq!(code(fv.offer(None, "Kreis", "Archiv", &mut sink).await).0, Code::PermissionDenied);
    let (missing, message) = code(archivist.offer(Some("32"), "Kreis Musterstadt", " ", &mut sink).await);
    assert_eq!(missing, Code::InvalidArgument, "{message}");
    assert!(message.contains("archive"), "{message}");
    let mut xml = Vec::new();
    let process =
        archivist.offer(Some("32"), "Kreis Musterstadt", "Landesarchiv NRW", &mut xml).await.unwrap();
    validates(&xml, "offer.Aussonderung.Anbieteverzeichnis.0501.xml");
    let text = String::from_utf8(xml).unwrap();
    assert_eq!(process.state, "offered");
    let mut akten: Vec<u64> = process.objects.iter().filter(|o| o.kind == "akte").map(|o| o.id).collect();
    akten.sort_unstable();
    assert_eq!(akten, [first, second], "the due Akten under 32, and only those");
    assert_eq!(process.objects.len(), 2 * 4, "each Akte with its Vorgang and two Dokumente");
    for object in &process.objects {
        assert!(text.contains(&object.uuid), "{} {} missing from the 0501", object.kind, object.uuid);
    }
    assert!(text.contains(&process.prozess_id));
    let first_uuid = akte_uuid(first);
    assert!(process.objects.iter().any(|o| o.uuid == first_uuid), "the Akte's UUID is its stable UUID");
    let vorgang_uuid = registratur_xdomea::stable_uuid("vorgang", vorgang.to_string()).to_string();
    let inner = process.objects.iter().find(|o| o.kind == "dokument" && o.id == dokumente[1]).unwrap();
    assert_eq!(inner.parent, vorgang_uuid, "the Dokument of the Vorgang sits in it");
    for expected in ["<xdomea:AnzahlJahre>10</xdomea:AnzahlJahre>", "2036-12-31", "Landesarchiv NRW"] {
        assert!(text.contains(expected), "{expected} missing from the 0501");
    }
    let status = archivist.retention(&AkteRef::Id(first)).await.unwrap();
    assert_eq!(
        (status.prozess_id.as_str(), status.process_state.as_str()),
        (process.prozess_id.as_str(), "offered")
    );
    assert_eq!(archivist.aussonderung_process(&process.prozess_id).await.unwrap().objects.len(), 8);

    // An Akte in a process is not offered again and cannot be reopened.
    let (again, message) = code(archivist.offer(Some("32"), "Kreis", "Archiv", &mut Vec::new()).await);
    assert_eq!(again, Code::FailedPrecondition, "{message}");
    let (reopen, message) = code(fv.reopen_akte(&AkteRef::Id(first), "Widerspruch").await);
    assert_eq!(reopen, Code::FailedPrecondition, "{message}");
    assert!(message.contains(&process.prozess_id), "{message}");
    let mut other_xml = Vec::new();
    let other = archivist.offer(None, "Kreis Musterstadt", "Landesarchiv NRW", &mut other_xml).await.unwrap();
    let other_akten: Vec<u64> = other.objects.iter().filter(|o| o.kind == "akte").map(|o| o.id).collect();
    assert_eq!(other_akten, [social], "only what no process holds yet");

    // Appraisals that do not fit are refused whole, naming the objects; nothing changes.
    let unknown = uuid_of("unknown");
    let refused = |decisions: &[(String, &str)]| bewertungsverzeichnis(&process.prozess_id, decisions);
    let (c, m) =
        code(archivist.import_appraisal(refused(&[(first_uuid.clone(), "A"), (unknown.clone(), "V")])).await);
    assert_eq!(c, Code::InvalidArgument, "{m}");
    assert!(m.contains(&unknown), "{m}");
    let foreign = akte_uuid(social);
    let (c, m) =
        code(archivist.import_appraisal(refused(&[(first_uuid.clone(), "A"), (foreign.clone(), "V")])).await);
    assert_eq!(c, Code::InvalidArgument, "{m}");
    assert!(m.contains(&foreign) && m.contains(&other.prozess_id), "{m}");
    let (c, m) = code(archivist.import_appraisal(refused(&[(first_uuid.clone(), "A")])).await);
    assert_eq!(c, Code::InvalidArgument, "an Akte left undecided: {m}");
    assert!(m.contains(&akte_uuid(second)), "{m}");
    let complete =
        refused(&[(first_uuid.clone(), "A"), (akte_uuid(second), "V"), (vorgang_uuid.clone(), "V")]);
    archivist.place_hold(&AkteRef::Id(second), "Prüfung Rechnungshof").await.unwrap();
    let (c, m) = code(archivist.import_appraisal(complete.clone()).await);
    assert_eq!(c, Code::FailedPrecondition, "{m}");
    assert!(m.contains(&akte_uuid(second)) && m.contains("hold"), "{m}");
    let bomb = String::from_utf8(complete.clone()).unwrap().replacen(
        "<xdomea:Aussonderung.Bewertungsverzeichnis.0502",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><xdomea:Aussonderung.Bewertungsverzeichnis.0502",
        1,
    );
    assert_eq!(code(archivist.import_appraisal(bomb.into_bytes()).await).0, Code::InvalidArgument);
    let unknown_process = bewertungsverzeichnis(&uuid_of("process"), &[(first_uuid.clone(), "A")]);
    assert_eq!(code(archivist.import_appraisal(unknown_process).await).0, Code::NotFound);
    let unchanged = archivist.aussonderung_process(&process.prozess_id).await.unwrap();
    assert_eq!(unchanged.state, "offered");
    assert!(unchanged.objects.iter().all(|o| o.appraisal.is_empty()), "nothing recorded by a refused import");

    // Released, the same 0502 is recorded in one go and answered with a valid 0505.
    archivist.release_hold(&AkteRef::Id(second), "Prüfung beendet").await.unwrap();
    let (appraised, receipt) = archivist.import_appraisal(complete.clone()).await.unwrap();
    validates(&receipt, "receipt.Aussonderung.BewertungEmpfangBestaetigen.0505.xml");
    assert!(String::from_utf8_lossy(&receipt).contains(&process.prozess_id));
    assert_eq!(appraised.state, "appraised");
    assert_eq!(appraised.appraised_by, "archivist");
    let decision = |uuid: &str| appraised.objects.iter().find(|o| o.uuid == uuid).unwrap().appraisal.clone();
    assert_eq!(
        (decision(&first_uuid), decision(&akte_uuid(second)), decision(&vorgang_uuid)),
        ("A".into(), "V".into(), "V".into())
    );
    let first_status = archivist.retention(&AkteRef::Id(first)).await.unwrap();
    assert_eq!((first_status.process_state.as_str(), first_status.appraisal.as_str()), ("appraised", "A"));
    let (twice, m) = code(archivist.import_appraisal(complete).await);
    assert_eq!(twice, Code::FailedPrecondition, "{m}");
    let actions: Vec<String> =
        archivist.akte_history(&AkteRef::Id(first)).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(
        actions.ends_with(&["aussonderung.offer".to_string(), "aussonderung.appraise".to_string()]),
        "{actions:?}"
    );

    // The handover: the Akte appraised A with its own Dokument; its Vorgang (V, with its Dokument) and the
    // Akte appraised V stay out. Not before the appraisal, never under a hold.
    let (c, m) = code(archivist.handover(&other.prozess_id, &mut Vec::new(), |_| {}).await);
    assert_eq!(c, Code::FailedPrecondition, "{m}");
    archivist.place_hold(&AkteRef::Id(first), "Nachforderung").await.unwrap();
    let (c, m) = code(archivist.handover(&process.prozess_id, &mut Vec::new(), |_| {}).await);
    assert_eq!(c, Code::FailedPrecondition, "{m}");
    assert!(m.contains(&first_uuid), "{m}");
    archivist.release_hold(&AkteRef::Id(first), "erledigt").await.unwrap();
    let mut zip = Vec::new();
    let (name, size) = archivist.handover(&process.prozess_id, &mut zip, |_| {}).await.unwrap();
    assert_eq!(name, format!("{}_Aussonderung.Aussonderung.0503.zip", process.prozess_id));
    assert_eq!(size as usize, zip.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(&name);
    std::fs::write(&path, &zip).unwrap();
    let listing = std::process::Command::new("unzip").arg("-Z1").arg(&path).output().unwrap();
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    let listing = String::from_utf8(listing.stdout).unwrap();
    let entries: Vec<&str> = listing.lines().collect();
    assert_eq!(entries.len(), 2, "the XML and the one Dokument appraised A: {entries:?}");
    assert_eq!(entries[0], format!("{}_Aussonderung.Aussonderung.0503.xml", process.prozess_id));
    assert!(entries[1].ends_with("_antrag.txt"), "{entries:?}");
    let unzip = |entry: &str| {
        std::process::Command::new("unzip").arg("-p").arg(&path).arg(entry).output().unwrap().stdout
    };
    let message = unzip(entries[0]);
    validates(&message, entries[0]);
    assert_eq!(unzip(entries[1]), b"Antrag", "the primary file's bytes");
    let message = String::from_utf8(message).unwrap();
    let direct = registratur_xdomea::stable_uuid("dokument", dokumente[0].to_string()).to_string();
    assert!(
        message.contains(&first_uuid) && message.contains(&direct),
        "the Akte and its Dokument are in the 0503"
    );
    for absent in [akte_uuid(second), vorgang_uuid.clone()] {
        assert!(!message.contains(&absent), "{absent} was appraised V and must not be handed over");
    }
    assert!(message.contains(&entries[1][..36]), "the file is referenced by its UUID");
    assert_eq!(archivist.aussonderung_process(&process.prozess_id).await.unwrap().state, "handed_over");
    let actions: Vec<String> =
        archivist.akte_history(&AkteRef::Id(first)).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions.last().map(String::as_str), Some("aussonderung.handover"));
    server.stop().await;
}

fn uuid_of(seed: &str) -> String {
    registratur_xdomea::stable_uuid("test", seed).to_string()
}
