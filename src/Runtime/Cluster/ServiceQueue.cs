namespace Dqemu.Runtime.Cluster;

/// <summary>
/// The work of one service thread (node 0's proxy of a remote guest thread, a worker's layout applier), in arrival
/// order. Unlike BlockingCollection, whose take spins and yields for a while before it sleeps (on a one-CPU node that
/// is dozens of switches to and from the computing guest thread per item, and under SCHED_FIFO a spin the guest cannot
/// interrupt), a take with nothing queued goes straight to sleep; an add wakes it.
/// </summary>
internal sealed class ServiceQueue<T>
{
    private readonly Queue<T> _items = new();
    private bool _completed;

    public void Add(T item)
    {
        lock (_items)
        {
            if (_completed) return;
            _items.Enqueue(item);
            Monitor.Pulse(_items);
        }
    }

    /// <summary>No more items: <see cref="Consume"/> ends once the queued ones are taken.</summary>
    public void CompleteAdding()
    {
        lock (_items)
        {
            _completed = true;
            Monitor.PulseAll(_items);
        }
    }

    /// <summary>The items as they come, until <see cref="CompleteAdding"/> (one consumer).</summary>
    public IEnumerable<T> Consume()
    {
        while (true)
        {
            T item;
            lock (_items)
            {
                while (_items.Count == 0)
                {
                    if (_completed) yield break;
                    Monitor.Wait(_items);
                }
                item = _items.Dequeue();
            }
            yield return item;
        }
    }
}
