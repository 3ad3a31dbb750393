//! Declaring a virtual user: Locust's model of `on_start`, weighted tasks and a wait
//! time, with the user's state kept in the instance (one instance per VU).

use std::cell::RefCell;
use std::time::Duration;

use crate::Result;

/// A task of a user: a name (for metrics), a weight, and the method that runs it.
pub struct Task<U> {
    pub name: &'static str,
    pub weight: u32,
    pub run: fn(&mut U) -> Result<()>,
}

impl<U> Task<U> {
    pub const fn new(name: &'static str, weight: u32, run: fn(&mut U) -> Result<()>) -> Self {
        Task { name, weight, run }
    }
}

/// The pause between two tasks of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    None,
    Constant(Duration),
    Between(Duration, Duration),
}

impl Wait {
    pub fn between_ms(min: u64, max: u64) -> Wait {
        Wait::Between(Duration::from_millis(min), Duration::from_millis(max))
    }
    pub fn constant_ms(ms: u64) -> Wait {
        Wait::Constant(Duration::from_millis(ms))
    }
}

/// A virtual user. `on_start` builds its state (log in, create a cart); tasks run on it.
pub trait User: Sized + 'static {
    const TASKS: &'static [Task<Self>];

    fn on_start() -> Result<Self>;

    fn wait() -> Wait {
        Wait::None
    }

    fn on_stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Exports a [`User`] type as the scenario's lifecycle.
#[macro_export]
macro_rules! user {
    ($ty:ty) => {
        struct __StampedeUser;
        impl $crate::bindings::exports::stampede::scenario::user::Guest for __StampedeUser {
            fn describe() -> $crate::bindings::exports::stampede::scenario::user::UserSpec {
                $crate::__private::describe::<$ty>()
            }
            fn on_start() -> ::core::result::Result<(), ::std::string::String> {
                $crate::__private::on_start::<$ty>()
            }
            fn run_task(index: u32) -> ::core::result::Result<(), ::std::string::String> {
                $crate::__private::run_task::<$ty>(index)
            }
            fn on_stop() -> ::core::result::Result<(), ::std::string::String> {
                $crate::__private::on_stop::<$ty>()
            }
        }
        $crate::bindings::export!(__StampedeUser with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    use super::*;
    use crate::bindings::exports::stampede::scenario::user as wit;
    use std::any::Any;

    thread_local! {
        // One instance is one user, so one slot holds its state.
        static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    fn ms(d: Duration) -> u32 {
        d.as_millis().min(u32::MAX as u128) as u32
    }

    pub fn describe<U: User>() -> wit::UserSpec {
        wit::UserSpec {
            tasks: U::TASKS
                .iter()
                .map(|t| wit::Task {
                    name: t.name.to_string(),
                    weight: t.weight,
                })
                .collect(),
            wait: match U::wait() {
                Wait::None => wit::WaitTime::None,
                Wait::Constant(d) => wit::WaitTime::Constant(ms(d)),
                Wait::Between(a, b) => wit::WaitTime::Between((ms(a), ms(b))),
            },
        }
    }

    pub fn on_start<U: User>() -> Result<(), String> {
        let user = U::on_start().map_err(|e| e.0)?;
        STATE.with(|s| *s.borrow_mut() = Some(Box::new(user)));
        Ok(())
    }

    fn with_user<U: User, R>(f: impl FnOnce(&mut U) -> Result<R>) -> Result<R, String> {
        // Taken out while the task runs, so a task may freely call host functions.
        let mut boxed = STATE
            .with(|s| s.borrow_mut().take())
            .ok_or_else(|| "on_start has not completed".to_string())?;
        let user = boxed
            .downcast_mut::<U>()
            .ok_or_else(|| "user state has the wrong type".to_string());
        let r = match user {
            Ok(u) => f(u).map_err(|e| e.0),
            Err(e) => Err(e),
        };
        STATE.with(|s| *s.borrow_mut() = Some(boxed));
        r
    }

    pub fn run_task<U: User>(index: u32) -> Result<(), String> {
        let task = U::TASKS
            .get(index as usize)
            .ok_or_else(|| format!("no task {index}"))?;
        with_user::<U, ()>(task.run)
    }

    pub fn on_stop<U: User>() -> Result<(), String> {
        let r = with_user::<U, ()>(|u| u.on_stop());
        STATE.with(|s| *s.borrow_mut() = None);
        r
    }
}
