//! `#[weft::check(...)]`: an `async fn` test whose body `weft::check` runs
//! under many schedules.
//!
//! The function becomes a `#[test]` that calls
//! `weft::check::Builder::new()` with the arguments as builder calls and
//! runs the body with it; the body is made afresh for each schedule. Every
//! argument problem is reported on its own token, all in one build.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitInt, Meta, ReturnType, Token};

use crate::attr::{expect_str, parse_crate_path, Errors};

const VALID: &str =
    "`schedules`, `seed`, `strategy`, `depth`, `max_preemptions`, `max_steps` and `crate`";

/// The arguments, as builder calls.
#[derive(Default)]
struct Args {
    calls: Vec<TokenStream>,
    strategy: Option<(String, Span)>,
    depth: Option<(LitInt, Span)>,
    max_preemptions: Option<(LitInt, Span)>,
    crate_path: Option<syn::Path>,
}

fn int(value: &Expr, name: &str, min: u64) -> syn::Result<LitInt> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(
            value,
            format!("`{name}` expects an integer literal, e.g. `{name} = 1000`"),
        ));
    };
    let n: u64 = lit.base10_parse()?;
    if n < min {
        return Err(syn::Error::new_spanned(
            lit,
            format!("`{name}` must be at least {min}"),
        ));
    }
    Ok(LitInt::new(&n.to_string(), lit.span()))
}

fn parse(args: TokenStream, errors: &mut Errors) -> Args {
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(e) => {
            errors.push(e);
            return Args::default();
        }
    };
    let mut out = Args::default();
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let name = meta.path().get_ident().map(ToString::to_string);
        let Some(name) = name.filter(|n| {
            matches!(
                n.as_str(),
                "schedules"
                    | "seed"
                    | "strategy"
                    | "depth"
                    | "max_preemptions"
                    | "max_steps"
                    | "crate"
            )
        }) else {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("unknown argument; `#[weft::check]` takes {VALID}"),
            ));
            continue;
        };
        if seen.contains(&name) {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("duplicate argument `{name}`; it may be given only once"),
            ));
            continue;
        }
        seen.push(name.clone());
        let Meta::NameValue(pair) = &meta else {
            errors.push(syn::Error::new_spanned(
                &meta,
                format!("`{name}` expects a value: write `{name} = ...`"),
            ));
            continue;
        };
        let value = &pair.value;
        let span = meta.path().span();
        let parsed: syn::Result<()> = match name.as_str() {
            "schedules" => {
                int(value, "schedules", 1).map(|n| out.calls.push(quote!(.schedules(#n))))
            }
            "seed" => int(value, "seed", 0).map(|n| out.calls.push(quote!(.seed(#n)))),
            "max_steps" => {
                int(value, "max_steps", 1).map(|n| out.calls.push(quote!(.max_steps(#n))))
            }
            "depth" => int(value, "depth", 1).map(|n| out.depth = Some((n, span))),
            "max_preemptions" => {
                int(value, "max_preemptions", 0).map(|n| out.max_preemptions = Some((n, span)))
            }
            "strategy" => expect_str(value, "`strategy`").and_then(|lit| {
                let s = lit.value();
                if matches!(s.as_str(), "random" | "pct" | "exhaustive") {
                    out.strategy = Some((s, lit.span()));
                    Ok(())
                } else {
                    Err(syn::Error::new_spanned(
                        lit,
                        format!(
                            "unknown strategy `{s}`; expected \"random\", \"pct\" or \"exhaustive\""
                        ),
                    ))
                }
            }),
            _ => parse_crate_path(value).map(|path| out.crate_path = Some(path)),
        };
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    out
}

/// Expands `#[weft::check(args)] async fn name() { body }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(e) => {
            let msg = format!("`#[weft::check]` can only be applied to an `async fn`: {e}");
            let mut tokens = item;
            tokens.extend(syn::Error::new(e.span(), msg).into_compile_error());
            return tokens;
        }
    };
    let sig = &input.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "a `#[weft::check]` function takes no arguments: its body is run afresh for every schedule",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        errors.push(syn::Error::new_spanned(
            ty,
            "a `#[weft::check]` function returns `()`: fail it with a panic (`assert!`)",
        ));
    }
    let args = parse(args, &mut errors);
    let mut calls = args.calls;
    let strategy = args.strategy.as_ref().map(|(s, _)| s.as_str());
    match (strategy, &args.depth) {
        (Some("pct"), depth) => {
            let depth = depth.as_ref().map_or(quote!(3), |(n, _)| quote!(#n));
            calls.push(quote!(.pct(#depth)));
        }
        (_, Some((_, span))) => errors.push(syn::Error::new(
            *span,
            "`depth` belongs to `strategy = \"pct\"`",
        )),
        _ => {}
    }
    match (strategy, &args.max_preemptions) {
        (Some("exhaustive"), bound) => {
            let bound = bound.as_ref().map_or(quote!(2), |(n, _)| quote!(#n));
            calls.push(quote!(.exhaustive(#bound)));
        }
        (_, Some((_, span))) => errors.push(syn::Error::new(
            *span,
            "`max_preemptions` belongs to `strategy = \"exhaustive\"`",
        )),
        _ => {}
    }
    let crate_path = args.crate_path.unwrap_or_else(|| syn::parse_quote!(::weft));
    let attrs = &input.attrs;
    let vis = &input.vis;
    let name = &sig.ident;
    let body = &input.block;
    let mut expanded = quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #crate_path::check::Builder::new()
                #(#calls)*
                .run(|| async move #body);
        }
    };
    if let Err(e) = errors.finish() {
        expanded.extend(e.into_compile_error());
    }
    expanded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: &str, item: &str) -> String {
        expand(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn arguments_become_builder_calls() {
        let out = expand_str(
            "schedules = 500, strategy = \"pct\", depth = 2, seed = 9",
            "async fn races() { assert!(true); }",
        );
        assert!(
            out.contains(":: weft :: check :: Builder :: new ()"),
            "{out}"
        );
        assert!(out.contains(". schedules (500)"), "{out}");
        assert!(out.contains(". seed (9)"), "{out}");
        assert!(out.contains(". pct (2)"), "{out}");
        assert!(
            out.contains("# [:: core :: prelude :: v1 :: test]"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn bad_arguments_are_reported_together() {
        let out = expand_str(
            "schedules = 0, strategy = \"dfs\", depth = 2, bogus = 1",
            "fn not_async(x: u32) -> u32 { x }",
        );
        for text in [
            "`schedules` must be at least 1",
            "unknown strategy `dfs`",
            "`depth` belongs to",
            "unknown argument",
            "`async` keyword is missing",
            "takes no arguments",
            "returns `()`",
        ] {
            assert!(out.contains(text), "{text} missing from {out}");
        }
    }
}
