// The one Boost.Test runner: every tests/unit/test-<module>.cc links into it.
#define BOOST_TEST_MODULE mailwarden
#include <boost/test/unit_test.hpp>
