use super::*;

fn service(name: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n\
         spec: {{ports: [{{port: {port}}}]}}\n---\n"
    )
}

fn key(name: &str) -> (String, String) {
    ("default".into(), name.into())
}

fn port(objects: &ObjectSet, name: &str) -> i32 {
    let service = &objects.services[&key(name)];
    service.ports[0].port
}

#[test]
fn only_changed_files_are_parsed_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), service("a", 80)).unwrap();
    std::fs::write(dir.path().join("b.yaml"), service("b", 80)).unwrap();
    let mut loader = Loader::new(dir.path());
    let first = loader.load().unwrap();
    assert_eq!(first.len(), 2);

    // b's content changes; a is rewritten with the same bytes.
    std::fs::write(dir.path().join("a.yaml"), service("a", 80)).unwrap();
    std::fs::write(dir.path().join("b.yaml"), service("b", 81)).unwrap();
    let second = loader.load().unwrap();
    assert!(Arc::ptr_eq(
        &first.services[&key("a")],
        &second.services[&key("a")]
    ));
    assert_eq!(port(&second, "b"), 81);

    // A new file is read, a removed one forgotten.
    std::fs::remove_file(dir.path().join("a.yaml")).unwrap();
    std::fs::write(dir.path().join("c.yaml"), service("c", 82)).unwrap();
    let third = loader.load().unwrap();
    assert!(!third.services.contains_key(&key("a")));
    assert!(Arc::ptr_eq(
        &second.services[&key("b")],
        &third.services[&key("b")]
    ));
    assert_eq!(port(&third, "c"), 82);
}

#[test]
fn the_last_file_wins_and_removing_it_restores_the_earlier_object() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("1.yaml"), service("s", 80)).unwrap();
    std::fs::write(dir.path().join("2.yaml"), service("s", 81)).unwrap();
    let mut loader = Loader::new(dir.path());
    assert_eq!(port(&loader.load().unwrap(), "s"), 81);
    assert_eq!(
        port(&super::super::load(dir.path()).unwrap(), "s"),
        81,
        "same as a load without cache"
    );
    std::fs::remove_file(dir.path().join("2.yaml")).unwrap();
    assert_eq!(port(&loader.load().unwrap(), "s"), 80);
}

#[test]
fn a_bad_document_is_refused_alone_and_a_fix_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.yaml");
    std::fs::write(&file, service("a", 80)).unwrap();
    std::fs::write(dir.path().join("b.yaml"), service("b", 80)).unwrap();
    let mut loader = Loader::new(dir.path());
    loader.load().unwrap();
    // A good document, one without apiVersion, one of a bad schema.
    let text = format!(
        "{}kind: Service\nmetadata: {{name: c}}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {{name: d}}\nspec: {{ports: 7}}\n",
        service("a", 81)
    );
    std::fs::write(&file, text).unwrap();
    let objects = loader.load().unwrap();
    assert_eq!((port(&objects, "a"), port(&objects, "b")), (81, 80));
    let refused: Vec<(String, Option<usize>)> = objects
        .refused
        .iter()
        .map(|r| {
            (
                r.file.file_name().unwrap().to_string_lossy().into(),
                r.document,
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("a.yaml".to_string(), Some(2)),
            ("a.yaml".to_string(), Some(3))
        ]
    );
    assert!(objects.refused[0].message.contains("no apiVersion/kind"));

    // A syntax error ends the file: what comes before it loads.
    std::fs::write(&file, format!("{}a: [\n", service("a", 82))).unwrap();
    let objects = loader.load().unwrap();
    assert_eq!(port(&objects, "a"), 82);
    assert_eq!(objects.refused.len(), 1);
    assert!(objects.refused[0].message.starts_with("invalid YAML"));

    std::fs::write(&file, service("a", 83)).unwrap();
    let objects = loader.load().unwrap();
    assert_eq!(port(&objects, "a"), 83);
    assert!(objects.refused.is_empty());
}

#[test]
fn secret_data_wrapped_like_kubectl_output_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let value = "x".repeat(100);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &value);
    // Wrapped at 76 columns in a folded block, with a stray space.
    let (head, tail) = encoded.split_at(76);
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\ndata:\n  k: |\n    {head}\n    {tail} \n"
    );
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    let objects = Loader::new(dir.path()).load().unwrap();
    assert_eq!(objects.refused, []);
    let secret = &objects.secrets[&("default".to_string(), "s".to_string())];
    assert_eq!(secret.get("k"), Some(value.as_bytes()));
}

/// A file listed and then gone before it is read (here a dangling symlink,
/// as a ConfigMap-style `..data` swap leaves for a moment) counts as
/// deleted: the other files load, and its objects are gone.
#[cfg(unix)]
#[test]
fn a_file_gone_before_it_is_read_counts_as_deleted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), service("a", 80)).unwrap();
    std::fs::write(dir.path().join("target.yaml"), service("b", 80)).unwrap();
    std::os::unix::fs::symlink(dir.path().join("target.yaml"), dir.path().join("b.yaml")).unwrap();
    let mut loader = Loader::new(dir.path());
    assert_eq!(loader.load().unwrap().len(), 2);

    std::fs::remove_file(dir.path().join("target.yaml")).unwrap();
    std::fs::write(dir.path().join("a.yaml"), service("a", 81)).unwrap();
    let objects = loader
        .load()
        .expect("a vanished file does not fail the load");
    assert_eq!(objects.len(), 1);
    assert_eq!(port(&objects, "a"), 81);

    // A missing root is still an error.
    let mut missing = Loader::new(&dir.path().join("nope"));
    assert!(matches!(missing.load(), Err(LoadError::Io { .. })));
}

#[test]
fn a_named_file_is_read_even_when_its_metadata_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.yaml"), service("a", 80)).unwrap();
    std::fs::write(dir.path().join("b.yaml"), service("b", 80)).unwrap();
    let mut loader = Loader::new(dir.path());
    loader.load().unwrap();

    let absolute = std::path::absolute(dir.path()).unwrap();
    let dirty = |paths: &[PathBuf]| Dirty {
        paths: paths.iter().cloned().collect(),
        all: false,
    };
    let a = dir.path().join("sub/a.yaml");
    let b = dir.path().join("b.yaml");
    let by_dir = dirty(&[absolute.join("sub")]);
    assert!(loader.named(&by_dir, &a));
    assert!(!loader.named(&by_dir, &b));
    assert!(loader.named(&dirty(&[absolute.join("b.yaml")]), &b));
    assert!(!loader.named(&dirty(&[]), &b));
    assert!(loader.named(
        &Dirty {
            all: true,
            ..dirty(&[])
        },
        &b
    ));

    // Overwrite a's content and restore its stamp: only the watcher's
    // word makes the load see the new port.
    let stamp = loader.files[&a].stamp.clone();
    let mut cached = loader.files[&a].clone();
    std::fs::write(&a, service("a", 81)).unwrap();
    cached.stamp = Some(Stamp::of(&std::fs::metadata(&a).unwrap()));
    loader.files.insert(a.clone(), cached);
    assert_eq!(port(&loader.load().unwrap(), "a"), 80, "stamp unchanged");
    loader
        .dirty
        .lock()
        .paths
        .insert(absolute.join("sub/a.yaml"));
    assert_eq!(port(&loader.load().unwrap(), "a"), 81);
    assert_ne!(stamp, loader.files[&a].stamp);
}

#[tokio::test]
async fn watcher_events_mark_paths_and_signal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.yaml");
    std::fs::write(&file, service("a", 80)).unwrap();
    let mut loader = Loader::new(dir.path());
    loader.load().unwrap();
    let (_watcher, mut changes) = loader.watch().unwrap();
    std::fs::write(&file, service("a", 81)).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), changes.recv())
        .await
        .expect("an event within 5 s")
        .unwrap();
    // One write is several events (truncate, data); let the burst end, as
    // the reload loop's debounce does, or a late one marks the path again
    // after the load below.
    let quiet = std::time::Duration::from_millis(200);
    while let Ok(Some(())) = tokio::time::timeout(quiet, changes.recv()).await {}
    let absolute = std::path::absolute(&file).unwrap();
    assert!(loader.named(&loader.dirty.lock(), &file));
    assert!(loader.dirty.lock().paths.contains(&absolute));
    assert_eq!(port(&loader.load().unwrap(), "a"), 81);
    assert!(loader.dirty.lock().paths.is_empty());
}

#[test]
fn objects_held_by_nobody_else_are_patched_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let many: String = (0..20).map(|i| service(&format!("s{i}"), 80)).collect();
    std::fs::write(dir.path().join("a.yaml"), many).unwrap();
    std::fs::write(dir.path().join("b.yaml"), service("b", 80)).unwrap();
    let mut loader = Loader::new(dir.path());
    let first = loader.load().unwrap();

    std::fs::write(dir.path().join("b.yaml"), service("b", 81)).unwrap();
    let second = loader.load().unwrap();
    assert!(
        !Arc::ptr_eq(&first.services, &second.services),
        "a store someone holds is copied, never changed under its reader"
    );
    assert_eq!((port(&first, "b"), port(&second, "b")), (80, 81));

    let at = Arc::as_ptr(&second.services);
    drop((first, second));
    std::fs::write(dir.path().join("b.yaml"), service("b", 82)).unwrap();
    let third = loader.load().unwrap();
    assert_eq!(Arc::as_ptr(&third.services), at, "patched where it was");
    assert_eq!(port(&third, "b"), 82);
    assert_eq!(third.services.len(), 21);
    assert!(Arc::ptr_eq(&loader.objects(), &third));
}
