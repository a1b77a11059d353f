//! Parsing and validation of the arguments given to `#[weft::main(...)]` and
//! `#[weft::test(...)]`.
//!
//! Every problem is reported as a [`syn::Error`] spanned on the offending
//! token; several problems in one attribute are combined so the user sees
//! them all in a single build.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitInt, LitStr, Meta, MetaNameValue, Token};

/// The attributes a user may write, in the order they are listed in errors.
const VALID_ATTRIBUTES: &str = "`flavor`, `worker_threads`, `start_paused`, `name` and `crate`";

/// Which macro is being expanded; decides the defaults and the wording of
/// some errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[weft::main]`: multi-threaded by default.
    Main,
    /// `#[weft::test]`: current-thread by default.
    Test,
}

impl Kind {
    /// The macro's name as the user writes it, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Main => "weft::main",
            Kind::Test => "weft::test",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// The scheduler the generated code builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_multi_thread()`.
    MultiThread,
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_current_thread().build_local(..)`: a `LocalRuntime`,
    /// where the body may `spawn_local`.
    Local,
}

impl Flavor {
    fn from_str(s: &str) -> Option<Self> {
        match s {
            "multi_thread" => Some(Flavor::MultiThread),
            "current_thread" => Some(Flavor::CurrentThread),
            "local" => Some(Flavor::Local),
            _ => None,
        }
    }
}

/// The validated configuration the code generator works from.
pub(crate) struct Config {
    /// The runtime flavor to build.
    pub(crate) flavor: Flavor,
    /// `Some(n)` when the user asked for `worker_threads = n`; always `None`
    /// for the current-thread flavor.
    pub(crate) worker_threads: Option<LitInt>,
    /// Whether the runtime's clock starts paused (current-thread flavor only).
    pub(crate) start_paused: bool,
    /// The path to the weft crate, `::weft` unless `crate = "..."` is given.
    pub(crate) crate_path: syn::Path,
    /// The runtime's name (`Builder::name`), if `name = "..."` is given.
    pub(crate) name: Option<LitStr>,
}

impl Config {
    /// The configuration used when the arguments are invalid, so that the
    /// expansion stays close to what the user meant while the errors are
    /// reported next to it.
    pub(crate) fn fallback(kind: Kind) -> Self {
        Config {
            flavor: kind.default_flavor(),
            worker_threads: None,
            start_paused: false,
            crate_path: default_crate_path(),
            name: None,
        }
    }
}

fn default_crate_path() -> syn::Path {
    syn::parse_quote!(::weft)
}

/// Parses and validates the attribute arguments `args` of macro `kind`.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Config> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;

    let mut errors = Errors::default();
    let mut flavor: Option<(Flavor, LitStr)> = None;
    let mut worker_threads: Option<(LitInt, Span)> = None;
    let mut start_paused: Option<(bool, Span)> = None;
    let mut crate_path: Option<syn::Path> = None;
    let mut runtime_name: Option<LitStr> = None;
    let mut seen: Vec<String> = Vec::new();

    for meta in metas {
        let Some(name) = meta.path().get_ident().map(ToString::to_string) else {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!(
                    "unknown attribute `{}`; the valid attributes are {VALID_ATTRIBUTES}",
                    path_to_string(meta.path())
                ),
            ));
            continue;
        };

        if !matches!(
            name.as_str(),
            "flavor" | "worker_threads" | "crate" | "start_paused" | "name"
        ) {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("unknown attribute `{name}`; the valid attributes are {VALID_ATTRIBUTES}"),
            ));
            continue;
        }

        if seen.contains(&name) {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("duplicate attribute `{name}`; it may be given only once"),
            ));
            continue;
        }
        seen.push(name.clone());

        let value = match expect_value(&name, &meta) {
            Ok(value) => value,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };

        match name.as_str() {
            "flavor" => match parse_flavor(value) {
                Ok(parsed) => flavor = Some(parsed),
                Err(e) => errors.push(e),
            },
            "worker_threads" => match parse_worker_threads(value) {
                Ok(n) => worker_threads = Some((n, meta.path().span())),
                Err(e) => errors.push(e),
            },
            "start_paused" => match parse_bool(value, "`start_paused`") {
                Ok(b) => start_paused = Some((b, meta.path().span())),
                Err(e) => errors.push(e),
            },
            "name" => match parse_name(value) {
                Ok(lit) => runtime_name = Some(lit),
                Err(e) => errors.push(e),
            },
            // Only "crate" is left: the other names were handled above.
            _ => match parse_crate_path(value) {
                Ok(path) => crate_path = Some(path),
                Err(e) => errors.push(e),
            },
        }
    }

    let flavor_value = flavor.as_ref().map_or(kind.default_flavor(), |(f, _)| *f);
    if let Some((_, span)) = &worker_threads {
        if flavor_value != Flavor::MultiThread {
            let msg = match &flavor {
                Some((_, lit)) => format!(
                    "`worker_threads` cannot be used with `flavor = \"{}\"`: \
                     that runtime runs every task on the thread that calls the test or main \
                     function; use `flavor = \"multi_thread\"`",
                    lit.value()
                ),
                None => format!(
                    "`worker_threads` requires the multi-threaded runtime; \
                     `#[{}]` uses the current-thread runtime by default: \
                     add `flavor = \"multi_thread\"`",
                    kind.name()
                ),
            };
            errors.push(syn::Error::new(*span, msg));
        }
    }

    if let Some((true, span)) = start_paused {
        if flavor_value == Flavor::MultiThread {
            errors.push(syn::Error::new(
                span,
                "`start_paused` requires `flavor = \"current_thread\"`: a paused clock \
                 jumps ahead when the runtime is idle, which only one thread can decide",
            ));
        }
    }

    errors.finish()?;

    Ok(Config {
        flavor: flavor_value,
        worker_threads: worker_threads.map(|(n, _)| n),
        start_paused: start_paused.is_some_and(|(b, _)| b),
        crate_path: crate_path.unwrap_or_else(default_crate_path),
        name: runtime_name,
    })
}

fn parse_name(value: &Expr) -> syn::Result<LitStr> {
    let lit = expect_str(value, "`name`")?;
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            "`name` must not be empty: it names the runtime (`Handle::name`)",
        ));
    }
    Ok(lit.clone())
}

/// Returns the right-hand side of `name = value`, or an error showing the
/// expected form.
fn expect_value<'a>(name: &str, meta: &'a Meta) -> syn::Result<&'a Expr> {
    match meta {
        Meta::NameValue(MetaNameValue { value, .. }) => Ok(value),
        Meta::Path(_) | Meta::List(_) => Err(syn::Error::new_spanned(
            meta,
            format!(
                "`{name}` expects a value: write `{name} = {}`",
                example_value(name)
            ),
        )),
    }
}

fn example_value(name: &str) -> &'static str {
    match name {
        "flavor" => "\"multi_thread\"",
        "worker_threads" => "4",
        "start_paused" => "true",
        "name" => "\"my-runtime\"",
        _ => "\"weft\"",
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<(Flavor, LitStr)> {
    let lit = expect_str(value, "`flavor`")?;
    match Flavor::from_str(&lit.value()) {
        Some(flavor) => Ok((flavor, lit.clone())),
        None => Err(syn::Error::new_spanned(
            lit,
            format!(
                "unknown runtime flavor `{}`; expected \"multi_thread\", \"current_thread\" \
                 or \"local\"",
                lit.value()
            ),
        )),
    }
}

fn parse_bool(value: &Expr, what: &str) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Ok(lit.value),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("{what} expects `true` or `false`"),
        )),
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<LitInt> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(
            value,
            "`worker_threads` expects an integer literal, e.g. `worker_threads = 4`",
        ));
    };
    let n: usize = lit.base10_parse()?;
    if n == 0 {
        return Err(syn::Error::new_spanned(
            lit,
            "`worker_threads` must be at least 1",
        ));
    }
    // Re-emit the number without any suffix so that `4u8` still reaches the
    // builder as a `usize`.
    Ok(LitInt::new(&n.to_string(), lit.span()))
}

pub(crate) fn parse_crate_path(value: &Expr) -> syn::Result<syn::Path> {
    let lit = expect_str(value, "`crate`")?;
    lit.parse::<syn::Path>().map_err(|_| {
        syn::Error::new_spanned(
            lit,
            format!(
                "`crate` expects a path to the weft crate, e.g. `crate = \"weft\"`; `{}` is not a path",
                lit.value()
            ),
        )
    })
}

pub(crate) fn expect_str<'a>(value: &'a Expr, what: &str) -> syn::Result<&'a LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("{what} expects a string literal"),
        )),
    }
}

fn path_to_string(path: &syn::Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
    }
    out
}

/// Collects errors so that all of them are reported, not only the first.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{quote, ToTokens};

    fn parse_ok(kind: Kind, args: TokenStream) -> Config {
        match parse(kind, args) {
            Ok(config) => config,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn parse_err(kind: Kind, args: TokenStream) -> Vec<String> {
        match parse(kind, args) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_depend_on_the_macro() {
        let main = parse_ok(Kind::Main, quote!());
        assert_eq!(main.flavor, Flavor::MultiThread);
        assert!(main.worker_threads.is_none());
        assert_eq!(main.crate_path.to_token_stream().to_string(), ":: weft");

        let test = parse_ok(Kind::Test, quote!());
        assert_eq!(test.flavor, Flavor::CurrentThread);
    }

    #[test]
    fn all_attributes() {
        let config = parse_ok(
            Kind::Test,
            quote!(
                flavor = "multi_thread",
                worker_threads = 4usize,
                crate = "my::weft",
            ),
        );
        assert_eq!(config.flavor, Flavor::MultiThread);
        let workers = config.worker_threads.map(|n| n.to_string());
        assert_eq!(workers.as_deref(), Some("4"));
        assert_eq!(
            config.crate_path.to_token_stream().to_string(),
            "my :: weft"
        );
    }

    #[test]
    fn current_thread_flavor() {
        let config = parse_ok(Kind::Main, quote!(flavor = "current_thread"));
        assert_eq!(config.flavor, Flavor::CurrentThread);
    }

    #[test]
    fn worker_threads_rules() {
        assert_eq!(
            parse_err(Kind::Main, quote!(worker_threads = 0)),
            ["`worker_threads` must be at least 1"]
        );
        let errors = parse_err(Kind::Test, quote!(worker_threads = 2));
        assert!(
            errors[0].contains("add `flavor = \"multi_thread\"`"),
            "{errors:?}"
        );
        let errors = parse_err(
            Kind::Main,
            quote!(flavor = "current_thread", worker_threads = 2),
        );
        assert!(errors[0].contains("cannot be used with"), "{errors:?}");
    }

    #[test]
    fn unknown_duplicate_and_malformed_attributes() {
        let errors = parse_err(
            Kind::Main,
            quote!(
                foo = 1,
                flavor = "multi_thread",
                flavor = "current_thread",
                start_paused = 1
            ),
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("unknown attribute `foo`"));
        assert!(errors[0].contains(VALID_ATTRIBUTES));
        assert!(errors[1].starts_with("duplicate attribute `flavor`"));
        assert!(errors[2].contains("`start_paused` expects `true` or `false`"));
    }

    #[test]
    fn start_paused_needs_the_current_thread_flavor() {
        let errors = parse_err(Kind::Main, quote!(start_paused = true));
        assert!(
            errors[0].starts_with("`start_paused` requires"),
            "{errors:?}"
        );
        let config = parse(Kind::Test, quote!(start_paused = true)).unwrap();
        assert!(config.start_paused);
        let config = parse(Kind::Main, quote!(start_paused = false)).unwrap();
        assert!(!config.start_paused);
    }

    #[test]
    fn malformed_values() {
        let errors = parse_err(
            Kind::Main,
            quote!(flavor = "threads", worker_threads = "2", crate = "a b"),
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("unknown runtime flavor `threads`"));
        assert!(errors[1].contains("expects an integer literal"));
        assert!(errors[2].contains("is not a path"));

        let errors = parse_err(Kind::Main, quote!(flavor));
        assert_eq!(
            errors,
            ["`flavor` expects a value: write `flavor = \"multi_thread\"`"]
        );
    }
}
