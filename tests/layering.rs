//! The rooms of the workspace and the arrows between them that must never exist (README,
//! "Architecture"): asterisk→core, core→fastagi or admin, admin→fastagi, sim→core or fastagi.
//! Read from `cargo metadata`, the workspace's own account of its dependencies, so a line
//! added to a `Cargo.toml` cannot slip one in, directly or through another room.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::collections::{BTreeMap, BTreeSet};

/// (from, to): `from` may not depend on `to`, in any kind of dependency (normal, build, dev).
const FORBIDDEN: &[(&str, &str)] = &[
    ("dialtone-asterisk", "dialtone-core"),
    ("dialtone-core", "dialtone-fastagi"),
    ("dialtone-core", "dialtone-admin"),
    ("dialtone-admin", "dialtone-fastagi"),
    ("dialtone-sim", "dialtone-core"),
    ("dialtone-sim", "dialtone-fastagi"),
];

/// Each workspace package's direct dependencies on other workspace packages.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn workspace_graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("a package list");
    let ours: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str())
        .map(str::to_string)
        .collect();
    packages
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_string();
            let deps = p["dependencies"]
                .as_array()?
                .iter()
                .filter_map(|d| d["name"].as_str())
                .filter(|d| ours.contains(*d))
                .map(str::to_string)
                .collect();
            Some((name, deps))
        })
        .collect()
}

/// The forbidden arrows `graph` has, each with the path that makes it, such as
/// `dialtone-sim -> dialtone-fastagi -> dialtone-core`.
fn forbidden_paths(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for (from, to) in FORBIDDEN {
        // Breadth first from `from`, remembering how each package was reached.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([*from]);
        while let Some(at) = queue.pop_front() {
            for next in graph.get(at).into_iter().flatten() {
                if next != from && !came_from.contains_key(next.as_str()) {
                    came_from.insert(next, at);
                    queue.push_back(next);
                }
            }
        }
        if came_from.contains_key(to) {
            let mut path = vec![*to];
            while let Some(previous) = path.last().and_then(|at| came_from.get(at)) {
                path.push(previous);
                if previous == from {
                    break;
                }
            }
            path.reverse();
            found.push(path.join(" -> "));
        }
    }
    found
}

#[test]
fn no_room_depends_on_a_room_it_must_not() {
    let graph = workspace_graph();
    for (from, to) in FORBIDDEN {
        assert!(
            graph.contains_key(*from) && graph.contains_key(*to),
            "{from} or {to} is no longer a workspace package: update FORBIDDEN"
        );
    }
    let found = forbidden_paths(&graph);
    assert!(
        found.is_empty(),
        "forbidden dependencies between the rooms:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_forbidden_arrow_through_another_room_is_named_with_its_path() {
    let graph: Graph = [
        ("dialtone-sim", vec!["dialtone-asterisk"]),
        ("dialtone-asterisk", vec!["dialtone-core"]),
        ("dialtone-core", vec![]),
        ("dialtone-admin", vec!["dialtone-core"]),
    ]
    .into_iter()
    .map(|(name, deps)| {
        (
            name.to_string(),
            deps.into_iter().map(str::to_string).collect(),
        )
    })
    .collect();
    assert_eq!(
        forbidden_paths(&graph),
        [
            "dialtone-asterisk -> dialtone-core",
            "dialtone-sim -> dialtone-asterisk -> dialtone-core"
        ],
        "the direct arrow and the one through the protocol crate"
    );
}
