#[weft::main(worker_threads = 0)]
async fn main() {}

#[weft::test(flavor = "multi_thread", worker_threads = "2")]
async fn not_an_integer() {}
