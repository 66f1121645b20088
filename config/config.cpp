// placeholder, replaced by the config implementation
#include "config/config.hpp"
