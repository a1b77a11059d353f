fn main(){println!("hello")}
