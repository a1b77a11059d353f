#[weft::main(flavor = "multi_threaded")]
async fn main() {}

#[weft::test(flavor = current_thread)]
async fn unquoted_flavor() {}

#[weft::test(flavor)]
async fn missing_value() {}
