//! Compiles the gRPC API in `proto/` and writes the descriptor set that server reflection serves.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "../../proto/registratur/v1/admin.proto",
        "../../proto/registratur/v1/records.proto",
        "../../proto/registratur/v1/mailroom.proto",
        "../../proto/registratur/v1/search.proto",
        "../../proto/registratur/v1/migration.proto",
        "../../proto/registratur/v1/lifecycle.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("registratur_descriptor.bin"))
        .compile_protos(&protos, &["../../proto"])?;
    Ok(())
}
