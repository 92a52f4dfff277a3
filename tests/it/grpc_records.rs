//! End-to-end tests of `RecordsService` over real gRPC on loopback: every RPC, its error paths and the
//! role and subtree boundaries.

use registratur::grpc::client::{Client, ClientError};
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::route::code::{RoutingKey, RoutingKeyRing, verify};
use registratur::service::{DocumentHeader, ROUTING_KEY_FILE};
use registratur_storage::BlobDigest;
use tonic::Code;

use crate::support::{ADMIN, ARCHIVIST, FACHVERFAHREN, FACHVERFAHREN_32, MAILROOM, TestServer, sample};

fn code(error: ClientError) -> Code {
    match error {
        ClientError::Rpc { code, .. } => code,
        other => panic!("expected an RPC error, got {other}"),
    }
}

fn message(error: &ClientError) -> String {
    error.to_string()
}

/// A server with the example Aktenplan imported.
async fn server_with_plan() -> TestServer {
    let server = TestServer::start().await;
    let csv = Aktenplan::example_kgst().to_csv();
    server.client().await.import_aktenplan(csv).await.unwrap();
    server
}

fn letter(akte: &AkteRef, title: &str) -> DocumentHeader {
    DocumentHeader {
        akte: akte.clone(),
        vorgang_id: None,
        title: title.into(),
        sender: "Erika Mustermann".into(),
        fremdes_geschaeftszeichen: "EM-7".into(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "paper_scan".into(),
        source: "batch-42".into(),
        filename: "brief.pdf".into(),
        media_type: "application/pdf".into(),
    }
}

async fn add(client: &mut Client, akte: &AkteRef, title: &str, bytes: Vec<u8>) -> Result<u64, ClientError> {
    client.add_document(letter(akte, title), std::io::Cursor::new(bytes)).await.map(|d| d.dokument.id)
}

/// A unit of the example plan under 32, and one outside it.
fn units() -> (String, String) {
    let plan = Aktenplan::example_kgst();
    let inside = plan.units().map(|u| u.key.to_string()).find(|k| k.starts_with("32.")).unwrap();
    let outside = plan.units().map(|u| u.key.to_string()).find(|k| !k.starts_with("32")).unwrap();
    (inside, outside)
}

#[tokio::test]
async fn aktenplan_import_export_round_trip_and_validation() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    assert_eq!(code(admin.export_aktenplan().await.unwrap_err()), Code::FailedPrecondition);
    let csv = Aktenplan::example_kgst().to_csv();
    let (version, units) = admin.import_aktenplan(csv.clone()).await.unwrap();
    assert_eq!((version, units as usize), (1, Aktenplan::example_kgst().len()));
    let (version, exported) = admin.export_aktenplan().await.unwrap();
    assert_eq!(version, 1);
    assert_eq!(Aktenplan::from_csv(&exported).unwrap(), Aktenplan::example_kgst());
    assert_eq!(admin.import_aktenplan(csv).await.unwrap().0, 2);

    let error = admin
        .import_aktenplan("kennzeichen;titel;aufbewahrung;aussonderungsart\n1.2;x;;\n".into())
        .await
        .unwrap_err();
    assert!(message(&error).contains("line"), "{error}");
    assert_eq!(code(error), Code::InvalidArgument);
    let mut fv = server.client_as(FACHVERFAHREN).await;
    assert_eq!(code(fv.import_aktenplan(exported).await.unwrap_err()), Code::PermissionDenied);
    server.stop().await;
}

#[tokio::test]
async fn akten_get_running_numbers_per_key_and_year_and_take_over_explicit_ones() {
    let server = server_with_plan().await;
    let (unit, _) = units();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let first = fv.create_akte(&unit, "Bauantrag Musterstraße 1", None, Some(2024)).await.unwrap();
    let second = fv.create_akte(&unit, "Bauantrag Musterstraße 2", None, Some(2024)).await.unwrap();
    assert_eq!(first.aktenzeichen, format!("{unit}-1/2024"));
    assert_eq!(second.aktenzeichen, format!("{unit}-2/2024"));
    let other_year = fv.create_akte(&unit, "Neu", None, Some(2025)).await.unwrap();
    assert_eq!(other_year.aktenzeichen, format!("{unit}-1/2025"));

    let taken_over = fv.create_akte(&unit, "Altakte", Some(&format!("{unit}-77/2024")), None).await.unwrap();
    assert_eq!(taken_over.aktenzeichen, format!("{unit}-77/2024"));
    let next = fv.create_akte(&unit, "Danach", None, Some(2024)).await.unwrap();
    assert_eq!(
        next.aktenzeichen,
        format!("{unit}-78/2024"),
        "assigned numbers continue after taken-over ones"
    );

    let error = fv.create_akte(&unit, "Doppelt", Some(&format!("{unit}-77/2024")), None).await.unwrap_err();
    assert_eq!(code(error), Code::AlreadyExists);
    let error = fv.create_akte(&unit, "Kaputt", Some("32.10.05-12a/2024"), None).await.unwrap_err();
    assert!(message(&error).contains("expected the shape"), "{error}");
    assert_eq!(code(error), Code::InvalidArgument);
    let error = fv.create_akte("99.99", "Unbekannt", None, None).await.unwrap_err();
    assert_eq!(code(error), Code::InvalidArgument);
    let error = fv.create_akte(&unit, "  ", None, None).await.unwrap_err();
    assert_eq!(code(error), Code::InvalidArgument);

    let by_az = fv.akte(&AkteRef::Aktenzeichen(first.aktenzeichen.clone())).await.unwrap();
    assert_eq!(by_az.akte, first);
    let by_id = fv.akte(&AkteRef::Id(first.id)).await.unwrap();
    assert_eq!(by_id.akte, first);
    let unknown = fv.akte(&AkteRef::Aktenzeichen(format!("{unit}-999/2024"))).await.unwrap_err();
    assert_eq!(code(unknown), Code::NotFound);
    assert_eq!(code(fv.akte(&AkteRef::Id(999_999)).await.unwrap_err()), Code::NotFound);
    let malformed = fv.akte(&AkteRef::Aktenzeichen("Bauantrag".into())).await.unwrap_err();
    assert_eq!(code(malformed), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn creating_akten_needs_an_aktenplan() {
    let server = TestServer::start().await;
    let error = server.client().await.create_akte("32", "x", None, None).await.unwrap_err();
    assert!(message(&error).contains("Aktenplan"), "{error}");
    assert_eq!(code(error), Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test]
async fn documents_versions_content_and_history() {
    let server = server_with_plan().await;
    let (unit, _) = units();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let akte = fv.create_akte(&unit, "Widerspruch", None, None).await.unwrap();
    let akte_ref = AkteRef::Id(akte.id);
    let vorgang = fv.create_vorgang(&akte_ref, "Widerspruchsverfahren").await.unwrap();

    let bytes = sample(700_000, 3);
    let mut new = letter(&akte_ref, "Widerspruch vom 19.11.");
    new.vorgang_id = Some(vorgang.id);
    let details = fv.add_document(new, std::io::Cursor::new(bytes.clone())).await.unwrap();
    let dokument = details.dokument.clone();
    assert_eq!(details.aktenzeichen, akte.aktenzeichen);
    assert_eq!(dokument.vorgang_id, Some(vorgang.id));
    assert_eq!(dokument.eingang.posteingangsdatum.to_string(), "2026-11-20");
    assert_eq!(dokument.eingang.source, "batch-42");
    assert_eq!(details.versions.len(), 1);
    let digest = BlobDigest::of(&bytes);
    assert_eq!(details.versions[0].original.sha256, digest.sha256.to_hex());
    assert_eq!(details.versions[0].original.blake3, digest.blake3.to_hex());

    // Identical bytes arriving again are their own Dokument with their own Eingang; the blob is shared.
    let again = add(&mut fv, &akte_ref, "Widerspruch (Fax)", bytes.clone()).await.unwrap();
    assert_ne!(again, dokument.id);
    let status = server.client().await.status().await.unwrap();
    assert_eq!(status.blob_count, 1);

    let v2_bytes = sample(1000, 9);
    let v2 = fv
        .add_version(
            dokument.id,
            "korrigierte Fassung",
            "brief-v2.pdf",
            "application/pdf",
            std::io::Cursor::new(v2_bytes.clone()),
        )
        .await
        .unwrap();
    assert_eq!(v2.dokument.current_version, 2);
    assert_eq!(v2.versions.len(), 2);
    assert_eq!(v2.versions[1].reason, "korrigierte Fassung");

    let mut newest = Vec::new();
    fv.read_content(dokument.id, None, None, &mut newest).await.unwrap();
    assert_eq!(newest, v2_bytes);
    let mut first = Vec::new();
    let content = fv.read_content(dokument.id, Some(1), None, &mut first).await.unwrap();
    assert_eq!((first, content.filename.as_str()), (bytes, "brief.pdf"));
    let missing_version = fv.read_content(dokument.id, Some(7), None, Vec::new()).await.unwrap_err();
    assert_eq!(code(missing_version), Code::NotFound);
    let missing_rendition = fv.read_content(dokument.id, None, Some("pdfa"), Vec::new()).await.unwrap_err();
    assert!(message(&missing_rendition).contains("no renditions; read its original"), "{missing_rendition}");
    assert_eq!(code(missing_rendition), Code::NotFound);
    assert_eq!(code(fv.document(424_242).await.unwrap_err()), Code::NotFound);

    let shown = fv.document(dokument.id).await.unwrap();
    assert_eq!(shown.versions, v2.versions);
    let details = fv.akte(&akte_ref).await.unwrap();
    assert_eq!(details.vorgaenge, vec![vorgang.clone()]);
    assert_eq!(details.dokumente.len(), 2);

    let history = fv.document_history(dokument.id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, vec!["dokument.add", "version.add"]);
    assert!(history.iter().all(|h| h.actor == "fv"));
    let akte_history = fv.akte_history(&akte_ref).await.unwrap();
    let actions: Vec<&str> = akte_history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, vec!["akte.create", "vorgang.create", "dokument.add", "dokument.add", "version.add"]);

    let wrong_vorgang = {
        let mut new = letter(&akte_ref, "falscher Vorgang");
        new.vorgang_id = Some(vorgang.id + 1000);
        fv.add_document(new, std::io::Cursor::new(vec![1])).await.unwrap_err()
    };
    assert_eq!(code(wrong_vorgang), Code::NotFound);
    let bad_date = {
        let mut new = letter(&akte_ref, "x");
        new.posteingangsdatum = "20.11.2026".into();
        fv.add_document(new, std::io::Cursor::new(vec![1])).await.unwrap_err()
    };
    assert!(message(&bad_date).contains("YYYY-MM-DD"), "{bad_date}");
    assert_eq!(code(bad_date), Code::InvalidArgument);
    let bad_channel = {
        let mut new = letter(&akte_ref, "x");
        new.channel = "pigeon".into();
        fv.add_document(new, std::io::Cursor::new(vec![1])).await.unwrap_err()
    };
    assert_eq!(code(bad_channel), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn a_closed_akte_accepts_nothing_more() {
    let server = server_with_plan().await;
    let (unit, _) = units();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let akte = fv.create_akte(&unit, "Erledigt", None, None).await.unwrap();
    let akte_ref = AkteRef::Aktenzeichen(akte.aktenzeichen.clone());
    let dokument = add(&mut fv, &akte_ref, "Letzter Brief", vec![1, 2, 3]).await.unwrap();
    let closed = fv.close_akte(&akte_ref, "Vorgang abgeschlossen").await.unwrap();
    assert!(!closed.is_open());

    let error = add(&mut fv, &akte_ref, "Zu spät", vec![4]).await.unwrap_err();
    assert!(message(&error).contains("closed"), "{error}");
    assert_eq!(code(error), Code::FailedPrecondition);
    let error = fv
        .add_version(dokument, "nachträglich", "x.pdf", "application/pdf", std::io::Cursor::new(vec![5]))
        .await
        .unwrap_err();
    assert_eq!(code(error), Code::FailedPrecondition);
    assert_eq!(code(fv.create_vorgang(&akte_ref, "neu").await.unwrap_err()), Code::FailedPrecondition);
    assert_eq!(code(fv.close_akte(&akte_ref, "").await.unwrap_err()), Code::FailedPrecondition);
    // Reading stays possible.
    let mut bytes = Vec::new();
    fv.read_content(dokument, None, None, &mut bytes).await.unwrap();
    assert_eq!(bytes, vec![1, 2, 3]);

    let (open, _) = fv.list_akten(Some(&unit), false, 100, "").await.unwrap();
    assert!(open.is_empty());
    let (all, _) = fv.list_akten(Some(&unit), true, 100, "").await.unwrap();
    assert_eq!(all.len(), 1);
    let history = fv.akte_history(&akte_ref).await.unwrap();
    assert_eq!(history.last().unwrap().action, "akte.close");
    server.stop().await;
}

#[tokio::test]
async fn listing_pages_through_subtrees_with_a_stable_cursor() {
    let server = server_with_plan().await;
    let plan = Aktenplan::example_kgst();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let keys: Vec<String> = plan.units().map(|u| u.key.to_string()).collect();
    for (i, key) in keys.iter().enumerate() {
        fv.create_akte(key, &format!("Akte {i}"), None, None).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = fv.list_akten(None, false, 3, &token).await.unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.into_iter().map(|a| a.id));
        match next {
            Some(next) => token = next,
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), keys.len());

    let (under_32, _) = fv.list_akten(Some("32"), false, 100, "").await.unwrap();
    let expected = keys.iter().filter(|k| *k == "32" || k.starts_with("32.")).count();
    assert_eq!(under_32.len(), expected);
    assert!(under_32.iter().all(|a| a.key.to_string() == "32" || a.key.to_string().starts_with("32.")));
    let bad = fv.list_akten(None, false, 3, "zz-not-a-token").await.unwrap_err();
    assert_eq!(code(bad), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn roles_and_subtrees_bound_what_each_caller_may_do() {
    let server = server_with_plan().await;
    let (inside, outside) = units();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let akte_in = fv.create_akte(&inside, "Innen", None, None).await.unwrap();
    let akte_out = fv.create_akte(&outside, "Außen", None, None).await.unwrap();
    let doc_out = add(&mut fv, &AkteRef::Id(akte_out.id), "Brief außen", vec![7]).await.unwrap();

    // A fachverfahren limited to 32 works inside, is denied outside, and does not see outside Akten.
    let mut fv32 = server.client_as(FACHVERFAHREN_32).await;
    fv32.create_akte(&inside, "Innen 2", None, None).await.unwrap();
    add(&mut fv32, &AkteRef::Id(akte_in.id), "Brief innen", vec![8]).await.unwrap();
    assert_eq!(code(fv32.create_akte(&outside, "x", None, None).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(code(fv32.akte(&AkteRef::Id(akte_out.id)).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(code(fv32.document(doc_out).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(
        code(fv32.read_content(doc_out, None, None, Vec::new()).await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(code(fv32.document_history(doc_out).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(
        code(fv32.close_akte(&AkteRef::Id(akte_out.id), "").await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(
        code(fv32.issue_routing_code(&AkteRef::Id(akte_out.id)).await.unwrap_err()),
        Code::PermissionDenied
    );
    let (visible, _) = fv32.list_akten(None, true, 100, "").await.unwrap();
    assert!(visible.iter().all(|a| a.key.to_string().starts_with("32")), "{visible:?}");
    assert!(!visible.is_empty());

    // The archivist reads everything and writes nothing.
    let mut archivist = server.client_as(ARCHIVIST).await;
    archivist.akte(&AkteRef::Id(akte_out.id)).await.unwrap();
    archivist.read_content(doc_out, None, None, Vec::new()).await.unwrap();
    archivist.export_aktenplan().await.unwrap();
    archivist.verify_journal().await.unwrap();
    assert_eq!(
        code(archivist.create_akte(&inside, "x", None, None).await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(
        code(add(&mut archivist, &AkteRef::Id(akte_in.id), "x", vec![1]).await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(
        code(archivist.close_akte(&AkteRef::Id(akte_in.id), "").await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(
        code(archivist.put_blob(std::io::Cursor::new(vec![1]), "").await.unwrap_err()),
        Code::PermissionDenied
    );

    // The mailroom may not touch records at all, not even read them.
    let mut mailroom = server.client_as(MAILROOM).await;
    assert_eq!(code(mailroom.akte(&AkteRef::Id(akte_in.id)).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(code(mailroom.document(doc_out).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(
        code(mailroom.read_content(doc_out, None, None, Vec::new()).await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(code(mailroom.list_akten(None, false, 10, "").await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(
        code(mailroom.create_akte(&inside, "x", None, None).await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(code(mailroom.status().await.unwrap_err()), Code::PermissionDenied);
    let error = mailroom.export_aktenplan().await.unwrap_err();
    assert!(message(&error).contains("mailroom"), "{error}");

    // The fachverfahren may not use admin calls.
    assert_eq!(code(fv.status().await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(code(fv.check_fixity(|_| {}).await.unwrap_err()), Code::PermissionDenied);

    // The journal names who did what.
    let history = fv.akte_history(&AkteRef::Id(akte_in.id)).await.unwrap();
    let actors: Vec<&str> = history.iter().map(|h| h.actor.as_str()).collect();
    assert_eq!(actors, vec!["fv", "fv-32"]);
    server.stop().await;
}

#[tokio::test]
async fn missing_and_wrong_tokens_are_unauthenticated() {
    let server = server_with_plan().await;
    let mut nobody = server.client_as("").await;
    let error = nobody.list_akten(None, false, 10, "").await.unwrap_err();
    assert_eq!(code(error), Code::Unauthenticated);
    let mut wrong = server.client_as("not-a-real-token").await;
    let error = wrong.status().await.unwrap_err();
    assert!(message(&error).contains("token"), "{error}");
    assert_eq!(code(error), Code::Unauthenticated);
    // Health stays open without a token.
    use tonic_health::pb::health_client::HealthClient;
    let mut health = HealthClient::new(server.channel().await);
    let request = tonic_health::pb::HealthCheckRequest { service: "registratur.v1.RecordsService".into() };
    assert!(health.check(request).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn routing_codes_name_the_akte_and_verify() {
    let server = server_with_plan().await;
    let (unit, _) = units();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let akte = fv.create_akte(&unit, "Antwort erwartet", None, Some(2024)).await.unwrap();
    let issued = fv.issue_routing_code(&AkteRef::Id(akte.id)).await.unwrap();
    assert_eq!((issued.akte_id, issued.aktenzeichen.as_str()), (akte.id, akte.aktenzeichen.as_str()));
    assert!(issued.payload.contains(&akte.aktenzeichen), "{}", issued.payload);
    let qr =
        qrcode::QrCode::with_error_correction_level(issued.payload.as_bytes(), qrcode::EcLevel::M).unwrap();
    match qr.version() {
        qrcode::Version::Normal(version) => assert!(version <= 6, "QR version {version}"),
        other => panic!("unexpected QR version {other:?}"),
    }
    let ring =
        RoutingKeyRing::new(RoutingKey::load_or_create(&server.data_dir.join(ROUTING_KEY_FILE)).unwrap());
    let verified = verify(&ring, &issued.payload).unwrap();
    assert_eq!((verified.akte_id, verified.aktenzeichen.as_str()), (akte.id, akte.aktenzeichen.as_str()));
    let forged = issued.payload.replace(&format!(":{}:", akte.id), &format!(":{}:", akte.id + 1));
    assert!(verify(&ring, &forged).is_err());

    let mut archivist = server.client_as(ARCHIVIST).await;
    assert_eq!(
        code(archivist.issue_routing_code(&AkteRef::Id(akte.id)).await.unwrap_err()),
        Code::PermissionDenied
    );
    let mut admin = server.client_as(ADMIN).await;
    assert_eq!(code(admin.issue_routing_code(&AkteRef::Id(9999)).await.unwrap_err()), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn remaining_error_paths_of_each_rpc() {
    use registratur::grpc::pb;
    use registratur::grpc::pb::records_service_client::RecordsServiceClient;

    let server = server_with_plan().await;
    let (_, outside) = units();
    let mut fv = server.client_as(FACHVERFAHREN).await;
    let akte_out = fv.create_akte(&outside, "Außen", None, None).await.unwrap();
    let doc_out = add(&mut fv, &AkteRef::Id(akte_out.id), "Brief", vec![1]).await.unwrap();

    // CreateVorgang: unknown Akte, wrong role, outside the subtree.
    assert_eq!(code(fv.create_vorgang(&AkteRef::Id(777_777), "x").await.unwrap_err()), Code::NotFound);
    let mut archivist = server.client_as(ARCHIVIST).await;
    assert_eq!(
        code(archivist.create_vorgang(&AkteRef::Id(akte_out.id), "x").await.unwrap_err()),
        Code::PermissionDenied
    );
    let mut fv32 = server.client_as(FACHVERFAHREN_32).await;
    assert_eq!(
        code(fv32.create_vorgang(&AkteRef::Id(akte_out.id), "x").await.unwrap_err()),
        Code::PermissionDenied
    );
    assert_eq!(
        code(fv.create_vorgang(&AkteRef::Id(akte_out.id), "").await.unwrap_err()),
        Code::InvalidArgument
    );

    // AddVersion: unknown Dokument, outside the subtree, wrong role.
    let version = |client: &mut Client, id| {
        let mut client = client.clone();
        async move {
            client.add_version(id, "neu", "v.pdf", "application/pdf", std::io::Cursor::new(vec![2])).await
        }
    };
    assert_eq!(code(version(&mut fv, 888_888).await.unwrap_err()), Code::NotFound);
    assert_eq!(code(version(&mut fv32, doc_out).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(code(version(&mut archivist, doc_out).await.unwrap_err()), Code::PermissionDenied);
    let no_reason =
        fv.add_version(doc_out, " ", "v.pdf", "application/pdf", std::io::Cursor::new(vec![2])).await;
    assert_eq!(code(no_reason.unwrap_err()), Code::InvalidArgument);

    // GetHistory and AddDocument with missing parts of the request.
    let mut raw = RecordsServiceClient::new(server.channel().await);
    let mut history = tonic::Request::new(pb::GetHistoryRequest { of: None });
    history.metadata_mut().insert("authorization", format!("Bearer {FACHVERFAHREN}").parse().unwrap());
    assert_eq!(raw.get_history(history).await.unwrap_err().code(), Code::InvalidArgument);
    let headless = vec![pb::AddDocumentRequest { header: None, chunk: vec![1], last: true }];
    let mut request = tonic::Request::new(tokio_stream::iter(headless));
    request.metadata_mut().insert("authorization", format!("Bearer {FACHVERFAHREN}").parse().unwrap());
    assert_eq!(raw.add_document(request).await.unwrap_err().code(), Code::InvalidArgument);
    // A document stream that ends without its final message stores nothing.
    let header = pb::DocumentHeader {
        akte: Some(pb::AkteRef { by: Some(pb::akte_ref::By::Id(akte_out.id)) }),
        title: "abgebrochen".into(),
        eingang: Some(pb::Eingang {
            posteingangsdatum: "2026-11-20".into(),
            channel: "email".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let cut = vec![pb::AddDocumentRequest { header: Some(header), chunk: vec![1, 2], last: false }];
    let mut request = tonic::Request::new(tokio_stream::iter(cut));
    request.metadata_mut().insert("authorization", format!("Bearer {FACHVERFAHREN}").parse().unwrap());
    assert_eq!(raw.add_document(request).await.unwrap_err().code(), Code::Aborted);
    assert_eq!(fv.akte(&AkteRef::Id(akte_out.id)).await.unwrap().dokumente.len(), 1);

    // IssueRoutingCode for a closed Akte; raw blob reads are for admins only.
    fv.close_akte(&AkteRef::Id(akte_out.id), "").await.unwrap();
    assert_eq!(
        code(fv.issue_routing_code(&AkteRef::Id(akte_out.id)).await.unwrap_err()),
        Code::FailedPrecondition
    );
    let hash = fv.document(doc_out).await.unwrap().versions[0].original.blake3.clone();
    assert_eq!(code(archivist.get_blob(&hash, Vec::new()).await.unwrap_err()), Code::PermissionDenied);
    assert_eq!(code(fv.get_blob(&hash, Vec::new()).await.unwrap_err()), Code::PermissionDenied);
    let mut admin = server.client_as(ADMIN).await;
    assert_eq!(admin.get_blob(&hash, Vec::new()).await.unwrap().size, 1);
    server.stop().await;
}
