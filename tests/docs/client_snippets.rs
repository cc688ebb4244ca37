//! The client snippets of the pages are code the client tests run: a fence tagged with a
//! script's path (```` ```js tests/clients/node/device_flow.mjs ````) must appear, line for
//! line, in that script — which `tests/api/node_clients.rs` runs against the real broker.

#[test]
fn every_tagged_client_snippet_is_in_the_script_the_tests_run() {
    let mut checked = 0;
    for page in crate::pages() {
        for fence in crate::fences(&crate::read(&page)) {
            let tags = fence.tags();
            let Some(script) = tags.get(1).filter(|t| t.starts_with("tests/clients/")) else {
                continue;
            };
            let at = format!("{}:{}", page.display(), fence.line);
            let code = std::fs::read_to_string(crate::root().join(script))
                .unwrap_or_else(|e| panic!("{at}: {script}: {e}"));
            assert!(
                code.contains(&fence.body),
                "{at}: the snippet is not in {script} as written:\n{}",
                fence.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} client snippets found");
}
