//! Sign-in, sign-up and account pages, and the account corner of the header.
//!
//! The forms are plain HTML forms that post to the server's `/auth/*`
//! routes, which redirect back (Post/Redirect/Get). They need no JavaScript,
//! and the browser's own validation (`required`, `minlength`, `type=email`)
//! catches slips before a round trip. What went wrong comes back as a
//! [`Flash`] in context.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::model::{Flash, Reader};

/// Fewest characters in a new password; the server enforces the same rule.
const MIN_PASSWORD_CHARS: &str = "10";
/// Most characters in a password.
const MAX_PASSWORD_CHARS: &str = "128";

/// The header's account links: the reader's name and a sign-out button, or
/// links to sign in and sign up.
#[component]
pub(crate) fn AccountLinks(reader: Option<Reader>) -> impl IntoView {
    match reader {
        Some(reader) => view! {
            <div class="account-nav">
                <a href="/account" class="account-name" title="Your account">{reader.name}</a>
                <form method="post" action="/auth/signout" class="inline-form">
                    <button type="submit" class="button-quiet">"Sign out"</button>
                </form>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="account-nav">
                <a href="/signin">"Sign in"</a>
                <a href="/signup" class="button-link">"Sign up"</a>
            </div>
        }
        .into_any(),
    }
}

/// The site links; instructors also get their classes and the gradebook.
#[component]
pub(crate) fn SiteLinks(reader: Option<Reader>) -> impl IntoView {
    let instructor = reader.is_some_and(|r| r.role == "instructor" || r.role == "admin");
    view! {
        <nav aria-label="Site">
            <a href="/">"Course"</a>
            <a href="/progress">"Progress"</a>
            <a href="/reference">"Lab API"</a>
            {instructor.then(|| view! {
                <a href="/instructor/classes">"Classes"</a>
                <a href="/instructor/gradebook">"Gradebook"</a>
            })}
        </nav>
    }
}

/// The message left by the last form, if any.
fn flash() -> Flash {
    use_context::<Flash>().unwrap_or_default()
}

/// Where to go after signing in, from `?next=`.
fn next_destination() -> String {
    use_query_map().with_untracked(|query| query.get("next").unwrap_or_default())
}

/// The join code of the class whose link led here, from `?class=`: the
/// class vouches for the sign-in (and the student joins it).
fn class_code() -> String {
    use_query_map().with_untracked(|query| query.get("class").unwrap_or_default())
}

/// The alert and status lines above a form.
#[component]
fn FormMessages(flash: Flash) -> impl IntoView {
    view! {
        {flash.error.map(|error| view! { <p class="form-error" role="alert" id="form-error">{error}</p> })}
        {flash.notice.map(|notice| view! { <p class="form-notice" role="status">{notice}</p> })}
    }
}

/// The email field of the sign-in and sign-up forms, filled in again after an error.
#[component]
fn EmailField(email: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for="email" class="field-label">"Email"</label>
            <input id="email" name="email" type="email" autocomplete="email" required value=email/>
        </div>
    }
}

/// Shown on sign-in and sign-up pages to a reader who is already signed in.
#[component]
fn AlreadySignedIn(reader: Reader) -> impl IntoView {
    view! {
        <p>"You are signed in as " <strong>{reader.name}</strong> ". "
            <a href="/account">"Go to your account"</a> " or " <a href="/">"back to the course"</a> "."</p>
    }
}

/// `/signin`
#[component]
pub(crate) fn SignInPage() -> impl IntoView {
    let flash = flash();
    let email = flash.email.clone().unwrap_or_default();
    let described_by = flash.error.is_some().then_some("form-error");
    let form = match use_context::<Reader>() {
        Some(reader) => view! { <AlreadySignedIn reader/> }.into_any(),
        None => view! {
            <FormMessages flash/>
            <form method="post" action="/auth/signin" class="auth-form" aria-describedby=described_by>
                <input type="hidden" name="next" value=next_destination()/>
                <input type="hidden" name="class" value=class_code()/>
                <EmailField email/>
                <div class="field">
                    <label for="password" class="field-label">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required/>
                </div>
                <button type="submit" class="button-primary">"Sign in"</button>
            </form>
            <p class="auth-switch">"New here? " <a href="/signup">"Create an account"</a>
                ". What you did as a guest comes with you."</p>
        }
        .into_any(),
    };
    view! {
        <Title text="Sign in"/>
        <section class="auth-page" aria-labelledby="auth-title">
            <h1 id="auth-title">"Sign in"</h1>
            {form}
        </section>
    }
}

/// `/signup`
#[component]
pub(crate) fn SignUpPage() -> impl IntoView {
    let flash = flash();
    let email = flash.email.clone().unwrap_or_default();
    let name = flash.name.clone().unwrap_or_default();
    let form = match use_context::<Reader>() {
        Some(reader) => view! { <AlreadySignedIn reader/> }.into_any(),
        None => view! {
            <FormMessages flash/>
            <form method="post" action="/auth/signup" class="auth-form">
                <input type="hidden" name="next" value=next_destination()/>
                <input type="hidden" name="class" value=class_code()/>
                <div class="field">
                    <label for="name" class="field-label">"Name"</label>
                    <input id="name" name="name" type="text" autocomplete="name" required maxlength="60" value=name/>
                </div>
                <EmailField email/>
                <div class="field">
                    <label for="password" class="field-label">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" required
                        minlength=MIN_PASSWORD_CHARS maxlength=MAX_PASSWORD_CHARS aria-describedby="password-rules"/>
                    <p id="password-rules" class="field-hint">
                        "At least 10 characters. No symbol or digit rules: a long phrase you will remember is best."
                    </p>
                </div>
                <button type="submit" class="button-primary">"Create account"</button>
            </form>
            <p class="auth-switch">"Already have an account? " <a href="/signin">"Sign in"</a></p>
        }
        .into_any(),
    };
    view! {
        <Title text="Create an account"/>
        <section class="auth-page" aria-labelledby="auth-title">
            <h1 id="auth-title">"Create an account"</h1>
            <p class="lede">"Keep your progress and lab settings across devices. Lessons and labs work without one."</p>
            {form}
        </section>
    }
}

/// `/account`: who you are, change password, sign out everywhere.
#[component]
pub(crate) fn AccountPage() -> impl IntoView {
    let Some(reader) = use_context::<Reader>() else {
        #[cfg(feature = "ssr")]
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::UNAUTHORIZED);
        }
        return view! {
            <Title text="Your account"/>
            <section class="auth-page">
                <h1>"Your account"</h1>
                <p>"You are not signed in. " <a href="/signin?next=%2Faccount">"Sign in"</a>
                    " or " <a href="/signup?next=%2Faccount">"create an account"</a> "."</p>
            </section>
        }
        .into_any();
    };
    let flash = flash();
    view! {
        <Title text="Your account"/>
        <section class="auth-page account-page" aria-labelledby="account-title">
            <h1 id="account-title">"Your account"</h1>
            <FormMessages flash/>
            <dl class="account-facts">
                <dt>"Name"</dt><dd>{reader.name}</dd>
                <dt>"Email"</dt><dd>{reader.email.clone()}</dd>
                <dt>"Role"</dt><dd>{reader.role}</dd>
                <dt>"Member since"</dt><dd>{iso_date(reader.member_since)}</dd>
            </dl>
            <section aria-labelledby="password-title">
                <h2 id="password-title">"Change password"</h2>
                <form method="post" action="/auth/password" class="auth-form">
                    // Which account the new password belongs to, for password
                    // managers; it has no name, so the form does not send it.
                    <input type="email" autocomplete="username" value=reader.email hidden readonly/>
                    <div class="field">
                        <label for="current_password" class="field-label">"Current password"</label>
                        <input id="current_password" name="current_password" type="password"
                            autocomplete="current-password" required/>
                    </div>
                    <div class="field">
                        <label for="new_password" class="field-label">"New password"</label>
                        <input id="new_password" name="new_password" type="password" autocomplete="new-password"
                            required minlength=MIN_PASSWORD_CHARS maxlength=MAX_PASSWORD_CHARS
                            aria-describedby="new-password-rules"/>
                        <p id="new-password-rules" class="field-hint">
                            "At least 10 characters. Changing it signs out your other devices."
                        </p>
                    </div>
                    <button type="submit" class="button-primary">"Change password"</button>
                </form>
            </section>
            <section aria-labelledby="sessions-title">
                <h2 id="sessions-title">"Sessions"</h2>
                <p>"Lost a device, or signed in on a shared computer? End every session of this account, this one included."</p>
                <form method="post" action="/auth/signout-everywhere">
                    <button type="submit">"Sign out everywhere"</button>
                </form>
            </section>
        </section>
    }
    .into_any()
}

/// `YYYY-MM-DD` for a Unix time in seconds (UTC), without a date library.
fn iso_date(unix_secs: i64) -> String {
    // Days to civil date, after Howard Hinnant's `civil_from_days`.
    let days = unix_secs.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn unix_times_become_calendar_dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(951_782_400), "2000-02-29");
        assert_eq!(iso_date(1_795_478_400), "2026-11-24");
        assert_eq!(iso_date(-86_400), "1969-12-31");
    }
}
