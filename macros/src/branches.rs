//! What `select!`, `join!` and `try_join!` share: the crate path their
//! `macro_rules!` fronts pass in, the branch limit, the names of generated
//! locals, and the loop that visits every branch once per poll, starting
//! at a given one.
//!
//! Each branch's future lives in its own `pin!`ned `Option`: `Some` while it
//! may be polled, set to `None` (dropped in place) once it completes or is
//! disabled. So no branch is ever polled after it completed (no
//! `FusedFuture` needed), finished futures release what they hold at once,
//! and the pinning needs no `unsafe`.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};

/// The most branches one invocation takes. Each poll visits every branch,
/// so a poll costs O(branches); past a few dozen, a collection
/// (`task::join_all`, `JoinSet`) that polls only what was woken is the
/// better tool, and the error says so.
pub(crate) const MAX_BRANCHES: usize = 64;

/// Splits the `macro_rules!` front's `$crate ; user tokens` into the path
/// of weft-runtime (which resolves however the user named the crate) and
/// what the user wrote.
pub(crate) fn split_crate_path(input: TokenStream) -> syn::Result<(TokenStream, TokenStream)> {
    let mut tokens = input.into_iter();
    let mut krate = TokenStream::new();
    for token in tokens.by_ref() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ';' => {
                return Ok((krate, tokens.collect()));
            }
            _ => krate.extend([token]),
        }
    }
    Err(syn::Error::new(
        Span::call_site(),
        "this macro is an implementation detail of weft: use `weft::select!`, `weft::join!` \
         or `weft::try_join!`",
    ))
}

/// A local of the expansion, invisible to the user's code (mixed-site
/// hygiene): `prefix` followed by `index`.
pub(crate) fn local(prefix: &str, index: usize) -> Ident {
    format_ident!("{prefix}{index}", span = Span::mixed_site())
}

/// A local of the expansion named `name`.
pub(crate) fn local1(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// A loop that runs `arms[b]` for each branch `b`, starting at the branch
/// whose index is in the `u32` local `start` and wrapping around. An arm
/// may `continue` to move on to the next branch.
pub(crate) fn each_branch_from(start: &Ident, arms: &[TokenStream]) -> TokenStream {
    let n = arms.len() as u32;
    let i = local1("__weft_i");
    let branch = local1("__weft_branch");
    let indices = 0..n;
    quote! {
        for #i in 0..#n {
            let mut #branch: u32 = #start + #i;
            if #branch >= #n {
                #branch -= #n;
            }
            match #branch {
                #( #indices => { #arms } )*
                _ => ::core::unreachable!(),
            }
        }
    }
}

/// The statements that evaluate each future expression in order (a `let`
/// of its own, so that `&mut temporary()` lives as long as the macro) and
/// pin it, as `Some(future)`, in `futures[i]`.
pub(crate) fn pin_futures(futures: &[Ident], exprs: &[syn::Expr]) -> TokenStream {
    let init: Vec<Ident> = (0..exprs.len()).map(|i| local("__weft_init", i)).collect();
    quote! {
        #( let #init = #exprs; )*
        #(
            let mut #futures = ::core::pin::pin!(::core::option::Option::Some(
                ::core::future::IntoFuture::into_future(#init)
            ));
        )*
    }
}

/// Returns `Pending` (and asks to be polled again) when the task has spent
/// its cooperative budget: the budget-aware branches would yield anyway, so
/// an always-ready one must not keep the task running.
pub(crate) fn respect_budget(krate: &TokenStream, cx: &Ident) -> TokenStream {
    quote! {
        if !#krate::__private::has_budget_remaining() {
            #cx.waker().wake_by_ref();
            return ::core::task::Poll::Pending;
        }
    }
}
