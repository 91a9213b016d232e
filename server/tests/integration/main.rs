//! The server's integration tests, in one binary: each module starts the
//! real server on port 0 (or runs the real `workbench` binary) and talks to
//! it as a client would. Tests that measure the test process itself (its
//! memory, request times under a flood) are files of their own beside this
//! folder, so nothing else runs in their process.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod api_lab;
mod api_styles;
mod auth_lab;
mod auth_lessons;
mod cache_lab;
mod challenges;
mod check_command;
mod classes;
mod database;
mod gateway_front;
mod gateway_lab;
mod gateway_shop;
mod grade_command;
mod grading;
mod http_lab;
mod integration_lessons;
mod lesson_plans;
mod lesson_widgets;
mod live_reload;
mod malformed_requests;
mod observability;
mod observe_lab;
mod openapi;
mod page_cache;
mod pages;
mod progress;
mod queue_lab;
mod ratelimit_lab;
mod realtime_backbone;
mod realtime_chat;
mod realtime_lab;
mod registry;
mod sandbox_disk;
mod search;
mod search_store_lesson;
mod security;
mod several_servers;
mod sql_lab;
mod testing_lab;
mod under_http;
mod user_command;
