//! `join!` and `try_join!`: every future polled on the current task until
//! all have completed (a tuple of their outputs, in argument order) or, for
//! `try_join!`, until the first `Err`, which is returned at once; the futures
//! still running are dropped with the macro's block.
//!
//! Each poll starts at the branch after the one it started at last time, so
//! under a cooperative budget no branch always goes first; with a leading
//! `biased;` (as in tokio) every poll goes in the order written.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Token};

use crate::branches::{self, local, local1, MAX_BRANCHES};

/// `join!` or `try_join!`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Join,
    TryJoin,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Join => "weft::join!",
            Kind::TryJoin => "weft::try_join!",
        }
    }
}

/// Parses `biased;` (optional) and the futures.
fn parse_input(input: ParseStream<'_>) -> syn::Result<(bool, Punctuated<Expr, Token![,]>)> {
    let biased = input.peek(syn::Ident) && input.peek2(Token![;]) && {
        let ident: syn::Ident = input.fork().parse()?;
        ident == "biased"
    };
    if biased {
        input.parse::<syn::Ident>()?;
        input.parse::<Token![;]>()?;
    }
    Ok((biased, Punctuated::parse_terminated(input)?))
}

/// Expands `$crate; [biased;] future, future, ...`.
pub(crate) fn expand(kind: Kind, input: TokenStream) -> TokenStream {
    match branches::split_crate_path(input).and_then(|(krate, rest)| {
        let (biased, exprs) = parse_input.parse2(rest)?;
        if let Some(extra) = exprs.iter().nth(MAX_BRANCHES) {
            return Err(syn::Error::new(
                extra.span(),
                format!(
                    "{} takes at most {MAX_BRANCHES} futures; for more, or for a number known \
                     only at run time, use `weft::task::{}`",
                    kind.name(),
                    match kind {
                        Kind::Join => "join_all",
                        Kind::TryJoin => "try_join_all",
                    }
                ),
            ));
        }
        Ok((krate, biased, exprs.into_iter().collect::<Vec<_>>()))
    }) {
        Ok((krate, biased, exprs)) => generate(kind, &krate, biased, &exprs),
        Err(e) => e.into_compile_error(),
    }
}

fn generate(kind: Kind, krate: &TokenStream, biased: bool, exprs: &[Expr]) -> TokenStream {
    let n = exprs.len();
    if n == 0 {
        return match kind {
            Kind::Join => quote! { () },
            Kind::TryJoin => quote! { ::core::result::Result::Ok(()) },
        };
    }
    let futures: Vec<_> = (0..n).map(|i| local("__weft_future", i)).collect();
    let outputs: Vec<_> = (0..n).map(|i| local("__weft_output", i)).collect();
    let cx = local1("__weft_cx");
    let start = local1("__weft_start");
    let next_start = local1("__weft_next_start");
    let done = local1("__weft_done");
    let value = local1("__weft_value");

    let pin = branches::pin_futures(&futures, exprs);
    let arms: Vec<TokenStream> = futures
        .iter()
        .zip(&outputs)
        .map(|(future, output)| {
            let ready = match kind {
                Kind::Join => quote! {
                    ::core::task::Poll::Ready(#value) => {
                        #output = ::core::option::Option::Some(#value);
                        #future.set(::core::option::Option::None);
                    }
                },
                Kind::TryJoin => quote! {
                    ::core::task::Poll::Ready(::core::result::Result::Ok(#value)) => {
                        #output = ::core::option::Option::Some(#value);
                        #future.set(::core::option::Option::None);
                    }
                    ::core::task::Poll::Ready(::core::result::Result::Err(#value)) => {
                        return ::core::task::Poll::Ready(::core::result::Result::Err(#value));
                    }
                },
            };
            quote! {
                if let ::core::option::Option::Some(#value) = #future.as_mut().as_pin_mut() {
                    match ::core::future::Future::poll(#value, #cx) {
                        #ready
                        ::core::task::Poll::Pending => #done = false,
                    }
                }
            }
        })
        .collect();
    let each_branch = branches::each_branch_from(&start, &arms);
    let budget = branches::respect_budget(krate, &cx);
    let n32 = n as u32;
    let advance = if biased {
        quote! { 0 }
    } else {
        quote! { if #start + 1 == #n32 { 0 } else { #start + 1 } }
    };
    let tuple = quote! {
        ( #( #outputs.take().expect("a completed future's output is taken once"), )* )
    };
    let all_done = match kind {
        Kind::Join => tuple,
        Kind::TryJoin => quote! { ::core::result::Result::Ok(#tuple) },
    };

    quote! {{
        #pin
        #( let mut #outputs = ::core::option::Option::None; )*
        let mut #next_start: u32 = 0;
        ::core::future::poll_fn(|#cx| {
            #budget
            let #start = #next_start;
            #next_start = #advance;
            let mut #done = true;
            #each_branch
            if #done {
                ::core::task::Poll::Ready(#all_done)
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, tokens: TokenStream) -> String {
        expand(kind, quote! { krate; #tokens }).to_string()
    }

    #[test]
    fn no_futures_is_unit_or_ok_unit() {
        assert_eq!(expand_str(Kind::Join, quote! {}), "()");
        assert_eq!(
            expand_str(Kind::TryJoin, quote! {}),
            ":: core :: result :: Result :: Ok (())"
        );
    }

    #[test]
    fn biased_is_accepted_and_keeps_the_start() {
        let out = expand_str(Kind::Join, quote! { biased; a, b });
        assert!(!out.contains("compile_error"), "{out}");
        assert!(!out.contains("biased"), "{out}");
        // A future named `biased` is still a future.
        let out = expand_str(Kind::Join, quote! { biased, b });
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_trailing_comma_is_accepted() {
        let out = expand_str(Kind::Join, quote! { a, b, });
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn more_than_the_limit_is_an_error_pointing_to_join_all() {
        let ok: TokenStream = (0..MAX_BRANCHES).map(|_| quote! { f, }).collect();
        assert!(!expand_str(Kind::Join, ok.clone()).contains("compile_error"));
        let out = expand_str(Kind::TryJoin, quote! { #ok f });
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("at most 64 futures"), "{out}");
        assert!(out.contains("try_join_all"), "{out}");
    }
}
