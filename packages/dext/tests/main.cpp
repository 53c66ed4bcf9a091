#include "harness.h"

int main(int argc, char **argv)
{
    return RunTests(argc > 1 ? argv[1] : nullptr);
}
