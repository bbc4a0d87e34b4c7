//! branding
