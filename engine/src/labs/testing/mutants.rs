//! The bugs the testing lab hides in its todos API, one per mutant, each
//! with what a student is told when their suite lets it through.

/// One bug the API can be built with ([`super::todos::router`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bug {
    CreatedAs200,
    LocationOfCollection,
    BlankTitleAccepted,
    PageOffByOne,
    PerPageUncapped,
    TotalCountsPage,
    OthersTodoVisible,
    OthersCanDelete,
    NoTokenIsAlice,
    LostUpdate,
    DeleteKeepsTodo,
    PatchReplacesAll,
}

/// A mutant: the API with one [`Bug`], and how to speak of it.
pub(crate) struct Mutant {
    pub(crate) bug: Bug,
    /// Its name in reports and exercise files.
    pub(crate) id: &'static str,
    /// The bug in a few words, shown once it is caught or survives.
    pub(crate) title: &'static str,
    /// What it does and what would catch it, shown when it survives.
    pub(crate) explanation: &'static str,
}

/// Every mutant, in the order reports list them.
pub(crate) const MUTANTS: [Mutant; 12] = [
    Mutant {
        bug: Bug::CreatedAs200,
        id: "created-as-200",
        title: "A create answers 200 OK instead of 201 Created",
        explanation: "POST /todos makes the todo but answers 200, so a client cannot tell that something new exists. A step that creates a todo and expects `status = 201` catches it.",
    },
    Mutant {
        bug: Bug::LocationOfCollection,
        id: "location-of-collection",
        title: "Location points at /todos, not at the new todo",
        explanation: "A create answers `Location: /todos` instead of `/todos/{id}`. Expect the header's path with `expect_header_paths = { location = \"/todos/\" }`, or capture it and GET it back expecting the todo.",
    },
    Mutant {
        bug: Bug::BlankTitleAccepted,
        id: "blank-title-accepted",
        title: "A blank title is accepted",
        explanation: "A title of only spaces is stored. Send `{\"title\": \"   \"}` and expect `status = 422`: tests at the edge of the rules find what the happy path never meets.",
    },
    Mutant {
        bug: Bug::PageOffByOne,
        id: "page-off-by-one",
        title: "Page 2 starts one todo too early",
        explanation: "The offset of every page after the first is one short, so the last todo of a page shows again at the top of the next. Create three todos, read `?page=2&per_page=2`, and expect `$.items[0].title` to be the third one's.",
    },
    Mutant {
        bug: Bug::PerPageUncapped,
        id: "per-page-uncapped",
        title: "per_page above 20 is served instead of refused",
        explanation: "`GET /todos?per_page=1000` answers every todo at once, so one request can make the server read everything. Expect `status = 400` for a page size over the documented 20.",
    },
    Mutant {
        bug: Bug::TotalCountsPage,
        id: "total-counts-page",
        title: "total counts the page, not all the todos",
        explanation: "`total` is the number of items on this page, so a client never learns how many pages there are. Create three todos, read `?per_page=2`, and expect `$.total = 3`.",
    },
    Mutant {
        bug: Bug::OthersTodoVisible,
        id: "others-todo-visible",
        title: "Bob can read Alice's todo",
        explanation: "GET /todos/{id} does not check the owner. Let Alice create a todo, then GET it with Bob's token and expect 404: ownership is only tested by a second user.",
    },
    Mutant {
        bug: Bug::OthersCanDelete,
        id: "others-can-delete",
        title: "Bob can delete Alice's todo",
        explanation: "DELETE /todos/{id} does not check the owner. Let Alice create a todo, DELETE it with Bob's token and expect 404, then check Alice still has it.",
    },
    Mutant {
        bug: Bug::NoTokenIsAlice,
        id: "no-token-is-alice",
        title: "A request without a token is served as Alice",
        explanation: "A missing `Authorization` header falls back to the first user instead of 401. Send a request with no token and expect `status = 401`.",
    },
    Mutant {
        bug: Bug::LostUpdate,
        id: "lost-update",
        title: "PATCH ignores If-Match, so updates get lost",
        explanation: "A PATCH with a stale `If-Match` overwrites a newer version instead of answering 412. Capture the `etag` of a todo, PATCH it once with that If-Match, then again with the same old one, and expect `status = 412`.",
    },
    Mutant {
        bug: Bug::DeleteKeepsTodo,
        id: "delete-keeps-todo",
        title: "DELETE answers 204 but keeps the todo",
        explanation: "The delete says it worked and does nothing. After the DELETE, GET the todo again and expect 404: test the effect, not only the answer.",
    },
    Mutant {
        bug: Bug::PatchReplacesAll,
        id: "patch-replaces-all",
        title: "PATCH resets the fields it was not sent",
        explanation: "PATCH `{\"done\": true}` also clears the title, as if it were a PUT. After a partial update, expect the untouched fields to keep their values (`$.title`).",
    },
];

/// The mutant called `id`.
pub(crate) fn named(id: &str) -> Option<&'static Mutant> {
    MUTANTS.iter().find(|m| m.id == id)
}
