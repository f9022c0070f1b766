// LockGuarded<T>: shared state whose data is reachable only while its mutex is held.
// Access goes through a handle (auto h = guarded.lock(); h->field) or a callback
// (guarded.with([](T& v) {...})). With Mutex = std::shared_mutex, read_lock()/read_only()
// take a shared lock. Never fails on its own; a callback's exception propagates after the
// lock is released.
#pragma once

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <type_traits>
#include <utility>

namespace mailwarden::util {

template <typename Mutex>
concept SharedLockable = requires(Mutex& mutex) {
    mutex.lock_shared();
    mutex.unlock_shared();
};

template <typename T, typename Mutex = std::mutex> class LockGuarded {
public:
    // Holds the lock for its lifetime; the guarded value is reachable through it only.
    template <typename Lock, typename Value> class Handle {
    public:
        Handle(Value& value, Mutex& mutex) : value_(&value), lock_(mutex) {}
        Value* operator->() const noexcept { return value_; }
        Value& operator*() const noexcept { return *value_; }

    private:
        Value* value_;
        Lock lock_;
    };

    using ReadLock =
        std::conditional_t<SharedLockable<Mutex>, std::shared_lock<Mutex>, std::unique_lock<Mutex>>;
    using WriteHandle = Handle<std::unique_lock<Mutex>, T>;
    using ReadHandle = Handle<ReadLock, const T>;

    LockGuarded() = default;
    explicit LockGuarded(T value) : value_(std::move(value)) {}
    LockGuarded(const LockGuarded&) = delete;
    LockGuarded& operator=(const LockGuarded&) = delete;

    [[nodiscard]] WriteHandle lock() { return WriteHandle(value_, mutex_); }
    [[nodiscard]] ReadHandle read_lock() const { return ReadHandle(value_, mutex_); }

    // Runs fn(T&) under the exclusive lock. Returns fn's result by value so no reference
    // to the guarded data outlives the lock.
    template <typename Fn> auto with(Fn&& fn) {
        auto handle = lock();
        return std::invoke(std::forward<Fn>(fn), *handle);
    }

    // Runs fn(const T&) under the read lock (shared if Mutex allows it).
    template <typename Fn> auto read_only(Fn&& fn) const {
        auto handle = read_lock();
        return std::invoke(std::forward<Fn>(fn), *handle);
    }

private:
    T value_{};
    mutable Mutex mutex_;
};

} // namespace mailwarden::util
