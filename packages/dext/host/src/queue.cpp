#include "queue.h"

#include <string>
#ifdef __linux__
#include <pthread.h>
#endif

#include "live.h"

HostSerialQueue::HostSerialQueue(const char *label) : state(std::make_shared<State>())
{
    gHostLive.queues++;
    // Named after the queue (15 characters at most), so that per-thread CPU figures can tell
    // the dext's queues from the client's.
    std::string name = label != nullptr ? label : "queue";
    thread = std::thread([state = state, name = name.substr(0, 15)] {
#ifdef __linux__
        pthread_setname_np(pthread_self(), name.c_str());
#endif
        Run(state);
    });
    std::unique_lock<std::mutex> lock(state->mutex);
    state->wake.wait(lock, [this] { return state->threadID != std::thread::id(); });
}

HostSerialQueue::~HostSerialQueue()
{
    {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->stopping = true;
    }
    state->wake.notify_all();
    if (OnQueue()) {
        thread.detach();
    } else {
        thread.join();
    }
    gHostLive.queues--;
}

void HostSerialQueue::Async(std::function<void()> work)
{
    {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->items.push_back(std::move(work));
    }
    state->wake.notify_all();
}

void HostSerialQueue::Sync(const std::function<void()> &work)
{
    if (OnQueue()) {
        work();
        return;
    }
    std::mutex doneMutex;
    std::condition_variable doneCondition;
    bool done = false;
    Async([&] {
        work();
        std::lock_guard<std::mutex> lock(doneMutex);
        done = true;
        doneCondition.notify_all();
    });
    std::unique_lock<std::mutex> lock(doneMutex);
    doneCondition.wait(lock, [&] { return done; });
}

bool HostSerialQueue::OnQueue() const
{
    return std::this_thread::get_id() == state->threadID;
}

void HostSerialQueue::Run(std::shared_ptr<State> state)
{
    std::unique_lock<std::mutex> lock(state->mutex);
    state->threadID = std::this_thread::get_id();
    state->wake.notify_all();
    for (;;) {
        state->wake.wait(lock, [&] { return state->stopping || !state->items.empty(); });
        if (state->items.empty()) {
            return;
        }
        std::function<void()> work = std::move(state->items.front());
        state->items.pop_front();
        lock.unlock();
        work();
        work = nullptr;
        lock.lock();
    }
}
