// Unit tests for util/lock_guarded: access only under the lock, shared read locks, and
// no lost updates from concurrent writers. Fails by Boost.Test assertion.
#include <boost/test/unit_test.hpp>

#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/lock_guarded.hh"

using mailwarden::util::LockGuarded;

BOOST_AUTO_TEST_SUITE(lock_guarded)

BOOST_AUTO_TEST_CASE(handle_and_with_reach_the_guarded_value) {
    struct Counters {
        int accepted = 0;
        std::string last_queue_id;
    };
    LockGuarded<Counters> counters;
    {
        auto handle = counters.lock();
        handle->accepted = 1;
        handle->last_queue_id = "4QkZ3T1x";
    }
    counters.with([](Counters& c) { ++c.accepted; });
    BOOST_TEST(counters.read_only([](const Counters& c) { return c.accepted; }) == 2);
    BOOST_TEST(counters.read_lock()->last_queue_id == "4QkZ3T1x");
}

BOOST_AUTO_TEST_CASE(shared_mutex_allows_two_readers_at_once) {
    LockGuarded<int, std::shared_mutex> value(7);
    const auto first = value.read_lock();
    const auto second = value.read_lock(); // would deadlock with an exclusive read lock
    BOOST_TEST(*first + *second == 14);
}

BOOST_AUTO_TEST_CASE(four_threads_times_10000_increments_lose_none) {
    LockGuarded<long> total(0);
    std::vector<std::thread> workers;
    workers.reserve(4);
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&total] {
            for (int i = 0; i < 10000; ++i) {
                total.with([](long& v) { ++v; });
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
    BOOST_TEST(*total.read_lock() == 40000);
}

BOOST_AUTO_TEST_SUITE_END()
