//! The sync job queue: jobs per tenant (`sync_jobs`) and their work items per channel
//! (`channel_sync_jobs`).
//!
//! This module holds the queue's vocabulary (states, sync types, triggers, what to enqueue);
//! [`storage`] holds every SQL statement on the two tables, and the rest of the crate goes
//! through it. Claims are a conditional `UPDATE ... WHERE id = ? AND <claimable>` whose
//! `rows_affected()` must be 1: exactly one worker wins, on SQLite, MariaDB/MySQL and TiDB
//! alike (no SKIP LOCKED). A claim holds a lease; a worker that dies stops renewing it and,
//! once it expired, any other worker may claim the job (or channel item) and resume from the
//! cursors. `sync_jobs.active_tenant_id` (unique, NULL when finished) keeps one
//! queued-or-running job per tenant.

pub mod storage;

pub use storage::{
    add_counts, claim_item, claim_job, claim_next, create_items, enqueue, find_active, finish,
    finish_item, get, has_job_since, heartbeat_items, history, items, items_of_jobs, job_counts,
    jobs_needing_help, release, renew_lease, request_cancel, retry, set_channels_total,
    should_stop,
};

/// Implements `as_str`, `parse`, `Display` and the conversion to a bound SQL value for an
/// enum stored as text, from one table of variants and stored values.
macro_rules! stored_as_text {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The stored (and JSON) value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parse a stored or client value (exact, case-sensitive).
            pub fn parse(value: &str) -> Option<Self> {
                match value {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Parse a value read from the database; an unknown one is a database error.
            pub(crate) fn from_stored(value: &str) -> crate::error::Result<Self> {
                Self::parse(value).ok_or_else(|| {
                    crate::error::Error::Database(sea_orm::DbErr::Type(format!(
                        "unknown {} {value:?}",
                        stringify!($name)
                    )))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(value: $name) -> Self {
                value.as_str().into()
            }
        }
    };
}

/// State of a job (`sync_jobs.status`): queued -> running -> completed | failed | cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// Claimed by a worker (which holds a lease).
    Running,
    /// Finished; channels that failed are listed in `errors`.
    Completed,
    /// Stopped by an error that concerns the whole job (e.g. the token was refused).
    Failed,
    /// Cancelled on request.
    Cancelled,
}

stored_as_text!(JobStatus {
    Queued => "queued",
    Running => "running",
    Completed => "completed",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl JobStatus {
    /// Whether the job has ended (completed, failed or cancelled).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// State of a job's work item for one channel (`channel_sync_jobs.status`, the original's
/// values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelJobStatus {
    /// Not yet claimed (or handed back by a worker that stopped).
    Pending,
    /// Claimed by a worker.
    InProgress,
    /// Done.
    Completed,
    /// Failed (403, repeated errors); `error_details` says why.
    Failed,
}

stored_as_text!(ChannelJobStatus {
    Pending => "pending",
    InProgress => "in_progress",
    Completed => "completed",
    Failed => "failed",
});

impl ChannelJobStatus {
    /// Whether a worker may still work on the item (pending or in progress).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ChannelJobStatus::Pending | ChannelJobStatus::InProgress
        )
    }
}

/// `full` re-reads every channel from its start; `incremental` continues from the cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncType {
    /// Re-read everything.
    Full,
    /// From the cursors (the default).
    Incremental,
}

stored_as_text!(SyncType {
    Full => "full",
    Incremental => "incremental",
});

/// Who asked for a job (`sync_jobs.triggered_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An HTTP API call.
    Api,
    /// Creation of a Discord tenant.
    TenantCreated,
    /// The periodic scheduler.
    Schedule,
    /// `verta sync start`.
    Cli,
    /// A retry of a failed job.
    Retry,
}

stored_as_text!(Trigger {
    Api => "api",
    TenantCreated => "tenant_created",
    Schedule => "schedule",
    Cli => "cli",
    Retry => "retry",
});

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Tenant to sync.
    pub tenant_id: String,
    /// Full or incremental.
    pub sync_type: SyncType,
    /// Who asked.
    pub trigger: Trigger,
    /// Only these platform channel ids (all when `None`).
    pub channel_ids: Option<Vec<String>>,
    /// The failed job this one retries.
    pub retry_of: Option<String>,
}

/// Final figures of a job.
#[derive(Debug, Clone, Default)]
pub struct JobSummary {
    /// Channels with messages that the job covered.
    pub channels_total: i32,
    /// Channels finished.
    pub channels_completed: i32,
    /// Channels that failed.
    pub channels_failed: i32,
    /// Messages written (new or updated).
    pub messages_processed: i64,
    /// Reaction rows written.
    pub reactions_processed: i64,
    /// Attachment rows written.
    pub attachments_processed: i64,
    /// Platform requests made.
    pub requests_made: i64,
    /// Per-channel errors (`[{channelId, channelName, error, status, timestamp}]`).
    pub errors: Vec<serde_json::Value>,
}

/// Deterministic id of a job's work item for one channel, so re-creating items is idempotent.
pub fn item_id(job_id: &str, channel_id: &str) -> String {
    crate::repo::ids::channel_sync_job(job_id, crate::sync::rows::uuid_of(channel_id)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_match_their_json() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::json!(s), serde_json::json!(s.as_str()));
        }
        for s in [
            ChannelJobStatus::Pending,
            ChannelJobStatus::InProgress,
            ChannelJobStatus::Completed,
            ChannelJobStatus::Failed,
        ] {
            assert_eq!(ChannelJobStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::json!(s), serde_json::json!(s.as_str()));
        }
        for t in [
            Trigger::Api,
            Trigger::TenantCreated,
            Trigger::Schedule,
            Trigger::Cli,
            Trigger::Retry,
        ] {
            assert_eq!(Trigger::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::json!(t), serde_json::json!(t.as_str()));
        }
        for t in [SyncType::Full, SyncType::Incremental] {
            assert_eq!(SyncType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::json!(t), serde_json::json!(t.as_str()));
        }
        assert_eq!(JobStatus::parse("Queued"), None);
        assert!(JobStatus::from_stored("paused").is_err());
    }
}
