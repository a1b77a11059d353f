#[weft::main(flavor = "current_thread", worker_threads = 2)]
async fn main() {}

// `#[weft::test]` defaults to the current-thread runtime.
#[weft::test(worker_threads = 2)]
async fn default_test_flavor() {}
