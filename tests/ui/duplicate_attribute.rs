#[weft::main(flavor = "multi_thread", worker_threads = 2, flavor = "current_thread")]
async fn main() {}
