#[weft::main(threads = 4)]
async fn main() {}

#[weft::test(flavour = "multi_thread")]
async fn misspelled_flavor() {}

#[weft::test(weft::flavor = "multi_thread")]
async fn path_attribute() {}
