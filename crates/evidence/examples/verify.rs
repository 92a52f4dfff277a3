//! Verifies an evidence record offline, as `registratur evidence verify` will:
//!
//! ```text
//! cargo run -p registratur-evidence --example verify -- DATA_FILE RECORD.ers --trust ca.pem
//! ```
//!
//! Prints what the record proves (when the data existed, each chain and timestamp, when to renew), or
//! what failed, and exits 1 on failure.

use std::process::ExitCode;

use registratur_evidence::{DataInput, TrustList, verify_der};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, ers, flag, trust] = args.as_slice() else {
        eprintln!("usage: verify DATA_FILE RECORD.ers --trust CA.pem");
        return ExitCode::from(2);
    };
    if flag != "--trust" {
        eprintln!("usage: verify DATA_FILE RECORD.ers --trust CA.pem");
        return ExitCode::from(2);
    }
    let read = |path: &str| std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"));
    let result = (|| -> Result<_, String> {
        let data = read(data)?;
        let ers = read(ers)?;
        let trust = TrustList::from_pem_file(std::path::Path::new(trust)).map_err(|e| e.to_string())?;
        verify_der(DataInput::Bytes(&data), &ers, &trust).map_err(|e| format!("not proven: {e}"))
    })();
    match result {
        Ok(report) => {
            println!("proven: the data existed at {}", report.existed_at.to_rfc3339());
            for (c, chain) in report.chains.iter().enumerate() {
                for (s, stamp) in chain.timestamps.iter().enumerate() {
                    println!(
                        "chain {c} ({}), stamp {s}: {} by {} (certificate valid until {})",
                        chain.algorithm,
                        stamp.gen_time.to_rfc3339(),
                        stamp.tsa_subject,
                        stamp.tsa_not_after.to_rfc3339()
                    );
                }
            }
            println!("renew the timestamp before {}", report.renew_before.to_rfc3339());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
