//! The rate-limit lab: five algorithms (the leaky bucket two ways) written
//! out for students to read, and, in later parts, a live limiter on real
//! routes, a burst tool, a side-by-side simulation and a limiter shared
//! through Redis.

pub mod algorithms;
