#[weft::main]
async fn main(args: Vec<String>) {
    drop(args);
}

#[weft::test]
async fn test_with_args(n: u32) {
    assert_eq!(n, 0);
}
