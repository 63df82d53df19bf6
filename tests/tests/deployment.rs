//! The deployment files in `deploy/` as an administrator would use them: the systemd unit passes
//! systemd's own checks, and the nginx example terminates TLS in front of a real server and
//! passes hall-screen calls through at once.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use schalter_tests::app::{add_device, add_user, answer_json, schalter_bin, sign_in, ServerProcess};
use schalter_tests::sse::SseStream;
use schalter_tests::{missing, TestDb};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `systemd-analyze verify` warns about unknown keys without failing, so any word it says is a
/// failure here. The units name the installed binary; the check points them at the binary just
/// built (systemd checks that it exists) and at a backup directory that exists.
#[test]
fn the_systemd_units_pass_systemd_analyze() {
    if !have("systemd-analyze") {
        return missing("systemd-analyze", "the systemd package is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let here = schalter_bin().display().to_string();
    let backups = dir.path().join("backups").display().to_string();
    std::fs::create_dir(&backups).unwrap();
    let units = ["schalter.service", "schalter-backup.service", "schalter-backup.timer"];
    for unit in units {
        let text = std::fs::read_to_string(format!("{DEPLOY}/{unit}")).unwrap();
        let text = text
            .replace("/usr/local/bin/schalter", &here)
            .replace("/var/backups/schalter", &backups);
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .args(units.map(|u| dir.path().join(u)))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    for service in ["schalter.service", "schalter-backup.service"] {
        let security = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(dir.path().join(service))
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&security.stdout);
        let level: f64 = report
            .lines()
            .find_map(|l| l.split(&format!("Overall exposure level for {service}: ")).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in: {report}"));
        eprintln!("systemd-analyze security {service}: exposure {level} (0 = locked down, 10 = exposed)");
        assert!(
            level <= 2.0,
            "{service}: the hardening slipped, exposure {level}\n{report}"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx, stopped when the test ends however it ends.
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx with the example site, made local: free ports, a throwaway certificate, the server
/// under test as upstream. Returns nginx and its HTTPS port.
fn start_nginx(dir: &Path, upstream_port: u16) -> (Nginx, u16) {
    let (http, https) = (free_port(), free_port());
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-subj", "/CN=localhost", "-days", "1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let site = std::fs::read_to_string(format!("{DEPLOY}/nginx.conf"))
        .unwrap()
        .replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
        .replace("listen 443 ssl http2;", &format!("listen 127.0.0.1:{https} ssl http2;"))
        .replace("listen [::]:80;", "")
        .replace("listen [::]:443 ssl http2;", "")
        .replace(
            "/etc/ssl/certs/termine.example-stadt.de.pem",
            &cert.display().to_string(),
        )
        .replace(
            "/etc/ssl/private/termine.example-stadt.de.key",
            &key.display().to_string(),
        )
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{upstream_port}"));
    assert!(
        site.contains(&format!("127.0.0.1:{upstream_port}")),
        "the example proxies to the server"
    );
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let main = format!(
        "{user}pid {dir}/nginx.pid;\nerror_log {dir}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  \
         client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fcgi;\n  \
         uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  include {dir}/site.conf;\n}}\n",
        user = if root { "user root;\n" } else { "" },
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let conf = dir.join("nginx.conf");
    let test = Command::new("nginx")
        .arg("-t")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .args(["-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (Nginx(child), https)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nginx_in_front_terminates_tls_and_passes_calls_at_once() {
    if !have("nginx") || !have("openssl") {
        return missing(
            "nginx and openssl",
            "Debian packages nginx and openssl are not installed",
        );
    }
    let db = TestDb::sqlite().await;
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let upstream: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let display = add_device(&db.url, "buergerbuero", "display");
    let kiosk = add_device(&db.url, "buergerbuero", "kiosk");
    add_user(&db.url, "anna", "desk", "counter-one-2026");

    let direct = reqwest::get(format!(
        "{}/api/locations/buergerbuero/display/stream?token={display}",
        server.url
    ))
    .await
    .unwrap();
    let header = direct.headers().get("x-accel-buffering").map(|v| v.as_bytes().to_vec());
    assert_eq!(
        header.as_deref(),
        Some(&b"no"[..]),
        "the stream asks proxies not to buffer it"
    );
    drop(direct);

    let dir = tempfile::tempdir().unwrap();
    let (nginx, https) = start_nginx(dir.path(), upstream);
    let public = format!("https://localhost:{https}");
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", ([127, 0, 0, 1], https).into())
        .build()
        .unwrap();
    let mut health = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{public}/api/health")).send().await {
            health = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let health = health.expect("nginx answers on its TLS port");
    assert_eq!(health.status(), 200);
    assert!(
        health.headers().contains_key("strict-transport-security"),
        "Schalter saw X-Forwarded-Proto: https and asks browsers to keep to TLS"
    );

    let cookie = sign_in(&client, &public, "anna", "counter-one-2026").await;
    let opened = client
        .post(format!("{public}/api/counters/buergerbuero-1/open"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let mut screen = SseStream::open(client.get(format!(
        "{public}/api/locations/buergerbuero/display/stream?token={display}"
    )))
    .await;
    assert_eq!(screen.next(Duration::from_secs(5)).await.unwrap().event, "snapshot");
    let issued = client
        .post(format!("{public}/api/locations/buergerbuero/tickets"))
        .header("authorization", format!("Bearer {kiosk}"))
        .json(&serde_json::json!({"service": "meldebescheinigung"}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 201);
    let called = answer_json(
        client
            .post(format!("{public}/api/counters/buergerbuero-1/call-next"))
            .header("cookie", &cookie),
    )
    .await;
    // A buffering proxy would hold this small event back until its buffer filled.
    let call = screen
        .next_named("call", Duration::from_secs(5))
        .await
        .expect("the call passed through nginx");
    assert_eq!(call.json()["number"], called["number"]);

    drop(nginx);
    server.kill9().await;
}

/// `scripts/sbom` (run by the test command before the suite) wrote one bill of materials per
/// shipped artefact: each lists every crate the artefact is built from, with its version and
/// licence, as `cargo tree` resolves them for that target.
#[test]
fn the_bills_of_materials_list_every_crate_with_version_and_licence() {
    let host = String::from_utf8(Command::new("rustc").arg("-vV").output().unwrap().stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    for (package, target) in [
        ("schalter-server", host.as_str()),
        ("schalter-app", "wasm32-unknown-unknown"),
    ] {
        let file = format!("{}/../target/sbom/{package}.cdx.json", env!("CARGO_MANIFEST_DIR"));
        let Ok(text) = std::fs::read_to_string(&file) else {
            return missing(
                "the bills of materials",
                &format!("{file} is missing: run scripts/sbom"),
            );
        };
        let bom: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["metadata"]["component"]["name"], package);
        let mut listed = std::collections::BTreeSet::new();
        for component in bom["components"].as_array().unwrap() {
            let (name, version) = (
                component["name"].as_str().unwrap(),
                component["version"].as_str().unwrap(),
            );
            let licences = component["licenses"].as_array().map_or(0, Vec::len);
            assert!(
                licences > 0,
                "{package}: {name} {version} has no licence in the bill of materials"
            );
            listed.insert(format!("{name} v{version}"));
        }
        let tree = Command::new("cargo")
            // Proc-macros run in the compiler, for the host: what they use is not in the artefact.
            .args([
                "tree",
                "--locked",
                "--offline",
                "-p",
                package,
                "-e",
                "normal,no-proc-macro",
                "--prefix",
                "none",
            ])
            .args(["--format", "{p}", "--target", target])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .output()
            .unwrap();
        assert!(tree.status.success(), "{}", String::from_utf8_lossy(&tree.stderr));
        let crates: std::collections::BTreeSet<String> = String::from_utf8_lossy(&tree.stdout)
            .lines()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty() && !l.starts_with(&format!("{package} ")))
            .collect();
        let absent: Vec<&String> = crates.difference(&listed).collect();
        assert!(
            absent.is_empty(),
            "{package}: crates missing from the bill of materials: {absent:?}"
        );
        assert!(crates.len() > 100, "{package}: {} crates", crates.len());
        eprintln!(
            "{package}: {} crates, all in the bill of materials with a licence",
            crates.len()
        );
    }
}
