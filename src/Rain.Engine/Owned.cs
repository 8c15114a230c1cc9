namespace Rain.Engine;

/// <summary>
/// The one way the engine cleans up what it built when building fails: the resources a method or constructor made and
/// still owns, disposed newest first unless ownership was handed on.
/// </summary>
/// <remarks>
/// <para><b>A factory</b> owns each resource as it makes it and hands the result over at the end; any exception before
/// that disposes what was made, newest first:</para>
/// <code>
/// using var owned = new Owned();
/// var file = owned.Own(MappedFile.Open(path, 8));
/// var header = ParseHeader(file);
/// return owned.Commit(new MappedCheckpoint(file, header));
/// </code>
/// <para><b>A constructor</b> that must dispose the half-built object when it throws owns <c>this</c> for the length
/// of its body (its <c>Dispose</c> must cope with the fields not yet assigned):</para>
/// <code>
/// using (var built = new Owned(this))
/// {
///     _stream = device.CreateStream();
///     ...
///     built.Commit();
/// }
/// </code>
/// <para><b>An object that keeps its resources for life</b> holds an <see cref="Owned"/> in a field, owns each resource
/// as it allocates it and calls <see cref="DisposeAll"/> from its own <c>Dispose</c>.</para>
/// <para><see cref="Dispose"/> is the failure path: it runs while an exception is on its way to the caller, so a
/// resource whose own <c>Dispose</c> throws there does not replace that exception (nor stop the others from being
/// disposed); the cleanup's exception is dropped. <see cref="DisposeAll"/> is the teardown path and rethrows. Both are
/// idempotent. Not thread-safe.</para>
/// </remarks>
internal sealed class Owned : IDisposable
{
    private readonly List<IDisposable> _items = [];

    /// <summary>Owns nothing yet.</summary>
    public Owned()
    {
    }

    /// <summary>Owns <paramref name="built"/> (a constructor's <c>this</c>, or the one resource a block guards) until <see cref="Commit()"/>.</summary>
    public Owned(IDisposable built) => Own(built);

    /// <summary>What is owned now, oldest first.</summary>
    public IReadOnlyList<IDisposable> Items => _items;

    /// <summary>Owns <paramref name="item"/> (disposed after everything owned before it is not) and returns it.</summary>
    public T Own<T>(T item)
        where T : IDisposable
    {
        ArgumentNullException.ThrowIfNull(item);
        _items.Add(item);
        return item;
    }

    /// <summary>Hands everything owned on (to the caller, or to the object just built): disposing does nothing after this.</summary>
    public void Commit() => _items.Clear();

    /// <summary>Hands everything owned on, as <see cref="Commit()"/>, and returns <paramref name="result"/> (the object that now owns it).</summary>
    public T Commit<T>(T result)
    {
        Commit();
        return result;
    }

    /// <summary>
    /// The failure path: disposes everything still owned, newest first. A resource whose <c>Dispose</c> throws does not
    /// stop the others and its exception is dropped, so the exception that made the build fail is the one the caller sees.
    /// </summary>
    public void Dispose()
    {
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            var item = _items[i];
            _items.RemoveAt(i);
            try
            {
                item.Dispose();
            }
            catch (Exception)
            {
                // The failure on its way to the caller says what went wrong; a second one from the cleanup must not replace it.
            }
        }
    }

    /// <summary>
    /// The teardown path: disposes everything owned, newest first. Every resource is disposed even if one throws; the
    /// first exception is then rethrown (several: an <see cref="AggregateException"/> of them all).
    /// </summary>
    public void DisposeAll()
    {
        List<Exception>? failures = null;
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            var item = _items[i];
            _items.RemoveAt(i);
            try
            {
                item.Dispose();
            }
            catch (Exception e)
            {
                (failures ??= []).Add(e);
            }
        }

        if (failures is [var only])
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(only);
        if (failures is not null)
            throw new AggregateException("Disposing the owned resources failed.", failures);
    }
}
