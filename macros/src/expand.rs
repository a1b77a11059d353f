//! Code generation: turns `async fn name() -> R { body }` into a plain
//! `fn name() -> R` that builds a weft runtime and blocks on the body.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{AttrStyle, Attribute, ItemFn};

use crate::attr::{self, Config, Errors, Flavor, Kind};

/// Expands `#[weft::main]` or `#[weft::test]` (`kind`) with arguments `args`
/// applied to `item`.
///
/// Never fails: problems are emitted as `compile_error!`s next to an
/// expansion that is as close as possible to what the user wrote, so that
/// IDEs keep resolving the function and its body.
pub(crate) fn entry(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        // Not a function we can read: give the item back untouched and let
        // the error explain what went wrong.
        Err(e) => {
            let msg = format!(
                "`#[{}]` can only be applied to an `async fn`: {e}",
                kind.name()
            );
            return with_error(item, syn::Error::new(e.span(), msg));
        }
    };

    let mut errors = Errors::default();
    check_signature(kind, &input, &mut errors);
    let config = match attr::parse(kind, args) {
        Ok(config) => config,
        Err(e) => {
            errors.push(e);
            Config::fallback(kind)
        }
    };

    let expanded = generate(kind, input, &config);
    match errors.finish() {
        Ok(()) => expanded,
        Err(e) => with_error(expanded, e),
    }
}

/// Reports every way in which `input` is not a valid entry point.
fn check_signature(kind: Kind, input: &ItemFn, errors: &mut Errors) {
    let sig = &input.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    // As tokio's: `#[weft::main]` may run any function (a method taking
    // `self` included: its arguments are moved into the body's future);
    // only the program's `main` and a test are called with no arguments.
    let what = match kind {
        Kind::Main if sig.ident == "main" => Some("the main function"),
        Kind::Main => None,
        Kind::Test => Some("a test function"),
    };
    if let (Some(what), false) = (what, sig.inputs.is_empty()) {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!(
                "{what} cannot take arguments: `#[{}]` calls it with none",
                kind.name()
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("`#[{}]` cannot be used on a generic function", kind.name()),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            format!("`#[{}]` cannot be used on a variadic function", kind.name()),
        ));
    }
    if kind == Kind::Test {
        if let Some(test_attr) = input.attrs.iter().find(|a| is_test_attribute(a)) {
            errors.push(syn::Error::new_spanned(
                test_attr,
                "a second test attribute is supplied: `#[weft::test]` already marks \
                 the function as a test; remove this one",
            ));
        }
    }
}

/// Whether `attr` is `#[test]` (however its path is spelled).
fn is_test_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test")
        && matches!(attr.meta, syn::Meta::Path(_))
}

/// Builds the synchronous function.
fn generate(kind: Kind, mut input: ItemFn, config: &Config) -> TokenStream {
    input.sig.asyncness = None;

    let krate = &config.crate_path;
    let builder = match config.flavor {
        Flavor::MultiThread => quote! { #krate::runtime::Builder::new_multi_thread() },
        Flavor::CurrentThread | Flavor::Local => {
            quote! { #krate::runtime::Builder::new_current_thread() }
        }
    };
    let build = match config.flavor {
        Flavor::Local => quote! {
            .build_local(::core::default::Default::default())
        },
        Flavor::MultiThread | Flavor::CurrentThread => quote! { .build() },
    };
    let name = config.name.as_ref().map(|name| quote! { .name(#name) });
    let worker_threads = config
        .worker_threads
        .as_ref()
        .map(|n| quote! { .worker_threads(#n) });
    let start_paused = config.start_paused.then(|| quote! { .start_paused(true) });

    // Type errors about the value the body produces (for instance a missing
    // `Ok(())`) are reported at the end of the body, where the value is
    // produced, rather than on the attribute.
    let output_span = input.block.brace_token.span.close();

    // Locals introduced by the expansion are invisible to the user's code
    // (and cannot shadow anything in it) thanks to mixed-site hygiene.
    let local = |name: &str| Ident::new(name, Span::mixed_site().located_at(output_span));
    let body = local("body");
    let rt = local("rt");

    // `#![inner]` attributes written at the top of the body keep applying to
    // the whole function.
    let (outer, inner): (Vec<&Attribute>, Vec<&Attribute>) = input
        .attrs
        .iter()
        .partition(|a| matches!(a.style, AttrStyle::Outer));

    // When the user wrote their own `#[test]` (an error reported by
    // `check_signature`), do not add a second one on top of it.
    let test_attr = match kind {
        Kind::Test if !input.attrs.iter().any(is_test_attribute) => {
            Some(quote! { #[::core::prelude::v1::test] })
        }
        Kind::Test | Kind::Main => None,
    };

    let vis = &input.vis;
    let sig = &input.sig;
    let user_block = &input.block;
    let block_on = quote_spanned! {output_span=> #rt.block_on(#body) };
    quote! {
        #test_attr
        #(#outer)*
        #vis #sig {
            #(#inner)*
            let #body = async move #user_block;
            #[allow(clippy::expect_used)]
            let #rt = #builder
                #worker_threads
                #start_paused
                #name
                #build
                .expect("Failed building the weft runtime");
            #block_on
        }
    }
}

/// Appends `error` to `tokens` as `compile_error!` invocations.
fn with_error(mut tokens: TokenStream, error: syn::Error) -> TokenStream {
    tokens.extend(error.into_compile_error());
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        entry(kind, args, item).to_string()
    }

    #[test]
    fn main_expansion() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote! {
                /// Docs.
                pub async fn main() -> Result<(), ()> { Ok(()) }
            },
        );
        let expected = quote! {
            #[doc = r" Docs."]
            pub fn main() -> Result<(), ()> {
                let body = async move { Ok(()) };
                #[allow(clippy::expect_used)]
                let rt = ::weft::runtime::Builder::new_multi_thread()
                    .build()
                    .expect("Failed building the weft runtime");
                rt.block_on(body)
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn test_expansion() {
        let out = expand(
            Kind::Test,
            quote!(flavor = "multi_thread", worker_threads = 2, crate = "w"),
            quote! {
                #[should_panic]
                async fn it_works() { panic!() }
            },
        );
        let expected = quote! {
            #[::core::prelude::v1::test]
            #[should_panic]
            fn it_works() {
                let body = async move { panic!() };
                #[allow(clippy::expect_used)]
                let rt = w::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .build()
                    .expect("Failed building the weft runtime");
                rt.block_on(body)
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn a_method_taking_self_moves_it_into_the_body() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote! {
                async fn f(self, n: u32) { self.g(n) }
            },
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.starts_with(&quote!(fn f(self, n: u32)).to_string()),
            "{out}"
        );
        let main = expand(
            Kind::Main,
            quote!(),
            quote!(
                async fn main(n: u32) {}
            ),
        );
        assert!(main.contains("compile_error"), "{main}");
        let test = expand(
            Kind::Test,
            quote!(),
            quote!(
                async fn t(n: u32) {}
            ),
        );
        assert!(test.contains("compile_error"), "{test}");
    }

    #[test]
    fn start_paused_reaches_the_builder() {
        let out = expand(
            Kind::Test,
            quote!(start_paused = true),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            out.contains(&quote!(.start_paused(true)).to_string()),
            "{out}"
        );
    }

    #[test]
    fn inner_attributes_stay_at_the_top_of_the_function() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote!(
                async fn main() {
                    #![allow(unused)]
                    let x = 1;
                }
            ),
        );
        assert!(
            out.starts_with(
                "fn main () { # ! [allow (unused)] let body = async move { let x = 1 ; } ;"
            ),
            "{out}"
        );
    }

    #[test]
    fn test_defaults_to_current_thread() {
        let out = expand(
            Kind::Test,
            quote!(),
            quote!(
                async fn t() {}
            ),
        );
        assert!(out.contains("new_current_thread ()"), "{out}");
    }

    #[test]
    fn errors_keep_an_expansion() {
        let out = expand(
            Kind::Main,
            quote!(bogus = 1),
            quote!(
                fn main(x: u8) {}
            ),
        );
        assert!(out.contains("fn main (x : u8)"), "{out}");
        assert!(out.contains("new_multi_thread"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(out.contains("the `async` keyword is missing"), "{out}");
    }

    #[test]
    fn unparsable_items_are_returned_untouched() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.starts_with("struct S ;"), "{out}");
        assert!(
            out.contains("can only be applied to an `async fn`"),
            "{out}"
        );
    }

    #[test]
    fn second_test_attribute_is_an_error() {
        let out = expand(
            Kind::Test,
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(out.starts_with("# [test] fn t ()"), "{out}");
        assert!(!out.contains("v1 :: test"), "{out}");
        assert!(out.contains("a second test attribute"), "{out}");
    }
}
