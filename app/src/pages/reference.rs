//! `/reference`: every lab route, as the labs' OpenAPI document describes
//! it, for people: one section per lab, one card per method and path, and
//! the shapes of the bodies at the end.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::catalog::CatalogContext;
use crate::model::{
    ReferenceBody, ReferenceField, ReferenceOperation, ReferenceResponse, ReferenceSchema,
    ReferenceSection,
};

/// `/reference`
#[component]
pub(crate) fn ReferencePage() -> impl IntoView {
    let reference = expect_context::<CatalogContext>().0.api_reference();
    let labs = reference.labs.clone();
    let schemas = reference.schemas.clone();
    view! {
        <Title text="Lab API reference"/>
        <section class="reference" aria-labelledby="reference-title">
            <h1 id="reference-title">"Lab API reference"</h1>
            <p class="lede">
                "Every route of the live labs. Requests carry your session cookie, so each \
                 route works on your own sandbox. The same contract, machine-readable, is "
                <a href=reference.document_url.clone()>{reference.document_url.clone()}</a>
                " (OpenAPI " {reference.openapi_version.clone()} "): feed it to a client \
                 generator or a contract tester."
            </p>
            <nav aria-label="Labs" class="reference-toc">
                <ul>
                    {labs.iter().map(|lab| view! {
                        <li><a href=format!("#lab-{}", lab.name)>{lab.title.clone()}</a></li>
                    }).collect_view()}
                    <li><a href="#shapes">"Shapes of the bodies"</a></li>
                </ul>
            </nav>
            {labs.into_iter().map(|lab| view! { <LabSection lab/> }).collect_view()}
            <section aria-labelledby="shapes">
                <h2 id="shapes">"Shapes of the bodies"</h2>
                {schemas.into_iter().map(|schema| view! { <Shape schema/> }).collect_view()}
            </section>
        </section>
    }
}

#[component]
fn LabSection(lab: ReferenceSection) -> impl IntoView {
    let id = format!("lab-{}", lab.name);
    let labelled_by = id.clone();
    view! {
        <section aria-labelledby=labelled_by>
            <h2 id=id>{lab.title} " " <code>{format!("/labs/{}", lab.name)}</code></h2>
            {lab.operations.into_iter().map(|operation| view! { <Operation operation/> }).collect_view()}
        </section>
    }
}

#[component]
fn Operation(operation: ReferenceOperation) -> impl IntoView {
    let method_class = format!("method method-{}", operation.method.to_lowercase());
    let heading = format!("{}-title", operation.id);
    let labelled_by = heading.clone();
    view! {
        <article class="operation" id=operation.id.clone() aria-labelledby=labelled_by>
            <h3 id=heading>
                <span class=method_class>{operation.method.clone()}</span> " "
                <code class="operation-path">{operation.path.clone()}</code>
            </h3>
            <p class="operation-summary"><Prose text=operation.summary/></p>
            {(!operation.description.is_empty()).then(|| view! { <p><Prose text=operation.description/></p> })}
            {(!operation.parameters.is_empty()).then(|| view! {
                <h4>"Parameters"</h4>
                <Fields fields=operation.parameters with_location=true/>
            })}
            {operation.request.map(|body| view! {
                <h4>"Request body"</h4>
                <p><Body body/></p>
            })}
            <h4>"Responses"</h4>
            <dl class="responses">
                {operation.responses.into_iter().map(|response| view! { <Response response/> }).collect_view()}
            </dl>
        </article>
    }
}

#[component]
fn Response(response: ReferenceResponse) -> impl IntoView {
    let class = format!(
        "status status-{}",
        response.status.chars().next().unwrap_or('x')
    );
    view! {
        <dt><span class=class>{response.status}</span></dt>
        <dd>
            <Prose text=response.description/>
            {response.body.map(|body| view! { " " <Body body/> })}
            {(!response.headers.is_empty()).then(|| view! {
                <ul class="response-headers">
                    {response.headers.into_iter().map(|header| view! {
                        <li><code>{header.name}</code> ": " <Prose text=header.description/></li>
                    }).collect_view()}
                </ul>
            })}
        </dd>
    }
}

#[component]
fn Body(body: ReferenceBody) -> impl IntoView {
    view! {
        <span class="body-shape">
            <ShapeText shape=body.shape schema=body.schema/> " as " <code>{body.content_type}</code>
        </span>
    }
}

/// A shape, linked to its definition when it is a named one.
#[component]
fn ShapeText(shape: String, schema: Option<String>) -> impl IntoView {
    match schema {
        Some(name) => {
            view! { <a href=format!("#shape-{name}")><code>{shape}</code></a> }.into_any()
        }
        None => view! { <code>{shape}</code> }.into_any(),
    }
}

#[component]
fn Fields(fields: Vec<ReferenceField>, with_location: bool) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="data-table fields">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    {with_location.then(|| view! { <th scope="col">"In"</th> })}
                    <th scope="col">"Type"</th>
                    <th scope="col">"Required"</th>
                    <th scope="col">"What it is"</th>
                </tr>
            </thead>
            <tbody>
                {fields.into_iter().map(|field| view! {
                    <tr>
                        <th scope="row"><code>{field.name}</code></th>
                        {with_location.then(|| view! { <td>{field.location.clone()}</td> })}
                        <td><ShapeText shape=field.shape schema=field.schema/></td>
                        <td>{if field.required { "yes" } else { "no" }}</td>
                        <td><Prose text=field.description/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn Shape(schema: ReferenceSchema) -> impl IntoView {
    let id = format!("shape-{}", schema.name);
    view! {
        <article class="shape" id=id>
            <h3><code>{schema.name}</code></h3>
            {(!schema.description.is_empty()).then(|| view! { <p><Prose text=schema.description/></p> })}
            {if schema.fields.is_empty() {
                view! { <p>"Shape: " <code>{schema.shape}</code></p> }.into_any()
            } else {
                view! { <Fields fields=schema.fields with_location=false/> }.into_any()
            }}
        </article>
    }
}

/// A description as the document writes it: text with `code` in backticks.
#[component]
fn Prose(text: String) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(at, part)| {
            let part = part.to_string();
            if at % 2 == 1 {
                view! { <code>{part}</code> }.into_any()
            } else {
                part.into_any()
            }
        })
        .collect_view()
}
