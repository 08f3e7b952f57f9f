//! The Debian package (`make deb`, `packaging/build-deb.sh`) as an operator
//! meets it: built from this test's binary, inspected with dpkg-deb, then
//! installed with `dpkg -i` (as root, which CI is: the service user is
//! created, systemd-analyze verifies the installed unit, and the installed
//! binary serves with the installed config as that user, then the package
//! is purged) or, without root, unpacked with `dpkg-deb -x` and served from
//! there with its config.
mod common;

use common::served_process::{Server, BINARY};
use std::path::Path;
use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    text(&run("id", &["-u"])).trim() == "0"
}

/// A scrape of the served process: the host's own families are there.
fn assert_serves(server: &Server) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = server.addr.parse().unwrap();
    let response = runtime.block_on(common::get(addr, "/metrics", &[]));
    assert_eq!(response.status, 200);
    assert!(response.text().contains("# TYPE metrics_host_renders_total counter\n"), "{}", response.text());
}

#[test]
fn the_package_installs_a_service_that_serves_with_its_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let built = run(root.join("packaging/build-deb.sh").to_str().unwrap(), &[BINARY, out_dir.path().to_str().unwrap()]);
    let deb = text(&built).trim().to_string();
    let version = env!("CARGO_PKG_VERSION");
    assert!(deb.ends_with(&format!("metrics-host_{version}_amd64.deb")) || deb.contains(&format!("metrics-host_{version}_")), "{deb}");

    let info = text(&run("dpkg-deb", &["-I", &deb]));
    assert!(info.contains("Package: metrics-host\n") && info.contains(&format!("Version: {version}\n")), "{info}");
    assert!(info.contains("Depends: adduser, libc6 (>= 2."), "{info}");
    let listing = text(&run("dpkg-deb", &["-c", &deb]));
    for path in [
        "./usr/bin/metrics-host",
        "./etc/metrics-host/metrics-host.toml",
        "./etc/metrics-host/plugins/",
        "./lib/systemd/system/metrics-host.service",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(path)), "{path} in {listing}");
    }

    if is_root() {
        run("dpkg", &["-i", &deb]);
        let installed = std::panic::catch_unwind(|| {
            assert!(text(&run("/usr/bin/metrics-host", &["--version"])).starts_with(&format!("metrics-host {version}")));
            let user = text(&run("getent", &["passwd", "metrics-host"]));
            assert!(user.contains(":/nonexistent:") && (user.contains("nologin") || user.contains("/bin/false")), "{user}");
            let conffiles = text(&run("dpkg-query", &["-W", "-f", "${Conffiles}", "metrics-host"]));
            assert!(conffiles.contains("/etc/metrics-host/metrics-host.toml"), "{conffiles}");
            if Path::new("/usr/bin/systemd-analyze").exists() {
                let verify = Command::new("systemd-analyze").args(["verify", "/lib/systemd/system/metrics-host.service"]).output().unwrap();
                assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
                let complaints = String::from_utf8_lossy(&verify.stderr);
                assert!(!complaints.contains("metrics-host.service"), "{complaints}");
            }
            // The service's command line, as the service's user (setpriv
            // execs it, so the server is the process the test stops).
            let mut command = Command::new("setpriv");
            command.args(["--reuid=metrics-host", "--regid=metrics-host", "--clear-groups", "--"]);
            command.args(["/usr/bin/metrics-host", "serve", "--config", "/etc/metrics-host/metrics-host.toml"]);
            let server = Server::start_command(command);
            assert_serves(&server);
            let uid = user.split(':').nth(2).unwrap();
            let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
            let running_as = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
            assert!(running_as.split_whitespace().skip(1).all(|id| id == uid), "runs as metrics-host ({uid}): {running_as}");
        });
        run("dpkg", &["--purge", "metrics-host"]);
        assert!(!Path::new("/usr/bin/metrics-host").exists() && !Path::new("/var/cache/metrics-host").exists());
        if let Err(panic) = installed {
            std::panic::resume_unwind(panic);
        }
    } else {
        eprintln!("not root: the package is unpacked and served from there instead of installed");
        let unpacked = tempfile::tempdir().unwrap();
        let dir = unpacked.path();
        run("dpkg-deb", &["-x", &deb, dir.to_str().unwrap()]);
        let mut command = Command::new(dir.join("usr/bin/metrics-host"));
        command.arg("serve").arg("--config").arg(dir.join("etc/metrics-host/metrics-host.toml"));
        command.arg("--plugins").arg(dir.join("etc/metrics-host/plugins")).arg("--plugin-cache").arg(dir.join("cache"));
        let server = Server::start_command(command);
        assert_serves(&server);
    }
}
