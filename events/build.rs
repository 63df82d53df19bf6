// The migrations are embedded at compile time (`sqlx::migrate!`); a new file in the folder must
// rebuild the crate, which Cargo does not notice on its own.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
