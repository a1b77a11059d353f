//! `select!`: parsing tokio's syntax and generating the poll loop.
//!
//! ```text
//! select! {
//!     biased;                                  // optional: poll in order
//!     pattern = future, if condition => handler,
//!     ...
//!     else => expression                       // optional, last
//! }
//! ```
//!
//! The expansion, in order: evaluate the conditions; evaluate and pin the
//! futures (those whose condition was false are dropped unpolled); poll them
//! from a random branch (the first with `biased;`) until one completes with
//! an output its pattern matches (a branch whose output does not match is
//! disabled, and the others go on); leave the block, which drops every
//! other future; then match the output against the branch's pattern and run
//! its handler. Handlers run outside any generated loop or closure, so
//! `break`, `continue`, `return`, `?` and `.await` in them mean what they
//! mean around the macro, and a handler may use what a future borrowed.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Pat, Token};

use crate::branches::{self, local, local1, MAX_BRANCHES};

/// `pattern = future, if condition => handler`.
struct Branch {
    pat: Pat,
    future: Expr,
    condition: Option<Expr>,
    handler: Expr,
}

struct Select {
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

const SHAPE: &str = "each branch is `pattern = future => handler` or \
                     `pattern = future, if condition => handler`";

impl Parse for Select {
    fn parse(input: ParseStream) -> syn::Result<Select> {
        let biased = input.peek(syn::Ident) && input.peek2(Token![;]) && {
            let fork = input.fork();
            fork.parse::<syn::Ident>()? == "biased"
        };
        if biased {
            input.parse::<syn::Ident>()?;
            input.parse::<Token![;]>()?;
        }
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let else_token: Token![else] = input.parse()?;
                input.parse::<Token![=>]>().map_err(|e| {
                    syn::Error::new(e.span(), "expected `=>` after `else`: `else => expression`")
                })?;
                otherwise = Some(input.parse::<Expr>()?);
                input.parse::<Option<Token![,]>>()?;
                if !input.is_empty() {
                    return Err(syn::Error::new(
                        else_token.span,
                        "the `else` branch of weft::select! must come last",
                    ));
                }
                break;
            }
            let branch = input.parse::<Branch>()?;
            if branches.len() == MAX_BRANCHES {
                return Err(syn::Error::new(
                    branch.pat.span(),
                    format!(
                        "weft::select! takes at most {MAX_BRANCHES} branches; to wait for the \
                         first of more futures, spawn them into a `weft::task::JoinSet` and \
                         call `join_next`"
                    ),
                ));
            }
            branches.push(branch);
        }
        // `else` alone is allowed (tokio allows it): its value is the value.
        if branches.is_empty() && otherwise.is_none() {
            return Err(syn::Error::new(
                input.span(),
                format!("weft::select! needs at least one branch: {SHAPE}"),
            ));
        }
        Ok(Select {
            biased,
            branches,
            otherwise,
        })
    }
}

impl Parse for Branch {
    fn parse(input: ParseStream) -> syn::Result<Branch> {
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(e.span(), format!("expected `=` after the pattern: {SHAPE}"))
        })?;
        let future: Expr = input.parse()?;
        let condition = if input.peek(Token![,]) && input.peek2(Token![if]) {
            input.parse::<Token![,]>()?;
            input.parse::<Token![if]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        input.parse::<Token![=>]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `=>` (or `, if condition =>`) after the future: {SHAPE}"),
            )
        })?;
        // As in a `match` arm: a block-like handler needs no comma after it.
        let handler = Expr::parse_with_earlier_boundary_rule(input)?;
        if needs_comma(&handler) && !input.is_empty() {
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(e.span(), "expected `,` after the handler expression")
            })?;
        } else {
            input.parse::<Option<Token![,]>>()?;
        }
        Ok(Branch {
            pat,
            future,
            condition,
            handler,
        })
    }
}

/// Whether a handler must be followed by a comma before the next branch
/// (everything but block-like expressions, as for `match` arms).
fn needs_comma(handler: &Expr) -> bool {
    !matches!(
        handler,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
            | Expr::TryBlock(_)
            | Expr::Const(_)
    )
}

/// Expands `$crate; select-input`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match branches::split_crate_path(input)
        .and_then(|(krate, rest)| Ok((krate, syn::parse2::<Select>(rest)?)))
    {
        Ok((krate, select)) => generate(&krate, select),
        Err(e) => e.into_compile_error(),
    }
}

fn generate(krate: &TokenStream, select: Select) -> TokenStream {
    let n = select.branches.len();
    if n == 0 {
        if let Some(otherwise) = &select.otherwise {
            return quote! {{ #otherwise }};
        }
    }
    let output = local1("__WeftSelectOutput");
    let variants: Vec<_> = (0..n).map(|i| local("B", i)).collect();
    let params: Vec<_> = (0..n).map(|i| local("T", i)).collect();
    let futures: Vec<_> = (0..n).map(|i| local("__weft_future", i)).collect();
    let cx = local1("__weft_cx");
    let start = local1("__weft_start");
    let pending = local1("__weft_pending");
    let value = local1("__weft_value");
    let out = local1("__weft_out");

    // Conditions first, in order, each into a local of its own.
    let mut conditions = TokenStream::new();
    let mut disable = TokenStream::new();
    for (i, branch) in select.branches.iter().enumerate() {
        if let Some(condition) = &branch.condition {
            let enabled = local("__weft_enabled", i);
            let future = &futures[i];
            conditions.extend(quote! { let #enabled: bool = #condition; });
            disable.extend(quote! {
                if !#enabled {
                    #future.set(::core::option::Option::None);
                }
            });
        }
    }

    let exprs: Vec<Expr> = select.branches.iter().map(|b| b.future.clone()).collect();
    let pin = branches::pin_futures(&futures, &exprs);

    let arms: Vec<TokenStream> = select
        .branches
        .iter()
        .enumerate()
        .map(|(i, branch)| {
            let future = &futures[i];
            let variant = &variants[i];
            let check = check_pattern(&branch.pat);
            quote! {
                let ::core::option::Option::Some(#value) = #future.as_mut().as_pin_mut() else {
                    continue;
                };
                let #value = match ::core::future::Future::poll(#value, #cx) {
                    ::core::task::Poll::Ready(#value) => #value,
                    ::core::task::Poll::Pending => {
                        #pending = true;
                        continue;
                    }
                };
                // Done: never polled again, whether its pattern matches or not.
                #future.set(::core::option::Option::None);
                #[allow(unused_variables, unused_mut, unreachable_patterns)]
                match &#value {
                    #check => {}
                    _ => continue,
                }
                return ::core::task::Poll::Ready(#output::#variant(#value));
            }
        })
        .collect();
    let each_branch = branches::each_branch_from(&start, &arms);
    let budget = branches::respect_budget(krate, &cx);
    let n32 = n as u32;
    let pick_start = if select.biased {
        quote! { 0 }
    } else {
        quote! { #krate::__private::thread_rng_n(#n32) }
    };

    let handlers = select.branches.iter().enumerate().map(|(i, branch)| {
        let variant = &variants[i];
        let pat = &branch.pat;
        let handler = &branch.handler;
        quote! { #output::#variant(#pat) => #handler, }
    });
    let otherwise = match &select.otherwise {
        Some(expr) => quote! { #expr },
        None => quote! {
            ::core::panic!("all branches of weft::select! are disabled and there is no `else` branch")
        },
    };

    quote! {{
        enum #output<#(#params),*> {
            #( #variants(#params), )*
            Disabled,
        }
        #conditions
        // Mutable for `ref mut` bindings in the handlers' patterns.
        #[allow(unused_mut)]
        let mut #out = {
            #pin
            #disable
            ::core::future::poll_fn(|#cx| {
                #budget
                let #start: u32 = #pick_start;
                let mut #pending = false;
                #each_branch
                if #pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(#output::Disabled)
                }
            })
            .await
        };
        // Every future has been dropped by now, the winner's included.
        match #out {
            #( #handlers )*
            #output::Disabled => #otherwise,
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("weft::select!: the output matched its pattern once, not twice"),
        }
    }}
}

/// The branch's pattern made to match a reference to the output without
/// moving out of it: bindings lose `ref` and `mut` (under a reference they
/// bind by reference anyway) and `&mut` patterns become `&`.
///
/// Its tokens take this macro's own hygiene (edition 2021, locals private
/// to the expansion, paths resolved where the user wrote them), keeping
/// their positions: edition 2024 forbids `&` patterns under an implicit
/// borrow, which this reference match would otherwise turn a user's
/// `Some(&x)` into.
fn check_pattern(pat: &Pat) -> TokenStream {
    let mut pat = pat.clone();
    strip_binding_modes(&mut pat);
    respan(quote!(#pat))
}

fn respan(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| {
            let span = Span::mixed_site().located_at(token.span());
            match token {
                TokenTree::Group(group) => {
                    let mut new = Group::new(group.delimiter(), respan(group.stream()));
                    new.set_span(span);
                    TokenTree::Group(new)
                }
                mut other => {
                    other.set_span(span);
                    other
                }
            }
        })
        .collect()
}

fn strip_binding_modes(pat: &mut Pat) {
    match pat {
        Pat::Ident(ident) => {
            ident.by_ref = None;
            ident.mutability = None;
            if let Some((_, sub)) = &mut ident.subpat {
                strip_binding_modes(sub);
            }
        }
        Pat::Reference(reference) => {
            reference.mutability = None;
            strip_binding_modes(&mut reference.pat);
        }
        Pat::Or(or) => or.cases.iter_mut().for_each(strip_binding_modes),
        Pat::Paren(paren) => strip_binding_modes(&mut paren.pat),
        Pat::Slice(slice) => slice.elems.iter_mut().for_each(strip_binding_modes),
        Pat::Tuple(tuple) => tuple.elems.iter_mut().for_each(strip_binding_modes),
        Pat::TupleStruct(tuple) => tuple.elems.iter_mut().for_each(strip_binding_modes),
        Pat::Struct(s) => s
            .fields
            .iter_mut()
            .for_each(|field| strip_binding_modes(&mut field.pat)),
        Pat::Type(typed) => strip_binding_modes(&mut typed.pat),
        // Literals, ranges, paths, `..`, `_`, macros: nothing binds.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> syn::Result<Select> {
        syn::parse2(tokens)
    }

    fn error(tokens: TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_part_of_the_syntax() {
        let select = parse(quote! {
            biased;
            Some(x) = rx.recv(), if open => { x }
            _ = sleep(d) => 0,
            v = f => v
            , else => 1,
        })
        .unwrap();
        assert!(select.biased);
        assert_eq!(select.branches.len(), 3);
        assert!(select.branches[0].condition.is_some());
        assert!(select.branches[1].condition.is_none());
        assert!(select.otherwise.is_some());
    }

    #[test]
    fn a_branch_named_biased_is_a_branch() {
        let select = parse(quote! { biased = f => 1 }).unwrap();
        assert!(!select.biased);
        assert_eq!(select.branches.len(), 1);
    }

    #[test]
    fn a_block_handler_needs_no_comma_but_an_expression_does() {
        assert!(parse(quote! { a = f => {} b = g => {} }).is_ok());
        assert!(error(quote! { a = f => 1 b = g => 2 }).contains("expected `,` after the handler"));
    }

    #[test]
    fn errors_say_what_is_expected() {
        assert!(error(quote! {}).contains("needs at least one branch"));
        assert!(
            parse(quote! { else => 1 }).is_ok(),
            "else alone, as in tokio"
        );
        assert!(parse(quote! { biased; else => 1 }).is_ok());
        assert!(error(quote! { biased; }).contains("needs at least one branch"));
        assert!(error(quote! { a f => 1 }).contains("expected `=` after the pattern"));
        assert!(error(quote! { a = f 1 }).contains("expected `=>`"));
        assert!(error(quote! { else => 1, a = f => 1 }).contains("must come last"));
    }

    #[test]
    fn more_than_the_limit_is_an_error() {
        let ok: TokenStream = (0..MAX_BRANCHES).map(|_| quote! { _ = f => (), }).collect();
        assert!(parse(ok.clone()).is_ok());
        let too_many = quote! { #ok _ = f => () };
        assert!(error(too_many).contains("at most 64 branches"));
    }

    #[test]
    fn the_check_pattern_binds_nothing_by_value() {
        let pat: Pat = Pat::parse_multi_with_leading_vert
            .parse2(quote! { (Some(mut a), ref b, c @ &mut [_, ref mut d]) | (None, _, _) })
            .unwrap();
        let clean = check_pattern(&pat);
        assert_eq!(
            clean.to_string(),
            quote!((Some(a), b, c @ &[_, d]) | (None, _, _)).to_string()
        );
    }

    use syn::parse::Parser;
}
