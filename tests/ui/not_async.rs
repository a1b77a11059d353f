#[weft::main]
fn main() {}

#[weft::test]
fn not_async_test() {}
