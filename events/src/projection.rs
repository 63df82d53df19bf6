//! Read models are folds over the log. A projection is pure; where its state lives (memory,
//! table) and how it is fed (catch-up, live) is the server's business.

use crate::catalogue::Catalogue;
use crate::event::{decode, DecodeError, RecordedEvent};
use crate::feedback::{self, FeedbackEvent};

pub trait Projection {
    /// A stable name, used for checkpoints.
    const NAME: &'static str;
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError>;
}

impl Projection for Catalogue {
    const NAME: &'static str = "catalogue";
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        self.apply_recorded(event)
    }
}

/// Satisfaction ratings counted per score (index 0 = rating 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedbackTally {
    pub counts: [u64; 5],
}

impl FeedbackTally {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl Projection for FeedbackTally {
    const NAME: &'static str = "feedback-tally";
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        if event.stream == feedback::STREAM {
            let FeedbackEvent::FeedbackGiven { rating, .. } = decode(event)?;
            if (1..=5).contains(&rating) {
                self.counts[usize::from(rating) - 1] += 1;
            }
        }
        Ok(())
    }
}
