using Rain.Engine.Tensors;

namespace Rain.Engine.Tests;

public sealed class OwnedTests
{
    [Fact]
    public void AFailedBuildDisposesWhatItMadeNewestFirst()
    {
        var log = new List<string>();
        var failure = Assert.Throws<InvalidOperationException>(() => Build(log, fail: true));

        Assert.Equal("step 3 failed", failure.Message);
        Assert.Equal(["a", "b", "c"], log.Where(e => !e.StartsWith("disposed", StringComparison.Ordinal)));
        Assert.Equal(["disposed c", "disposed b", "disposed a"], log.Where(e => e.StartsWith("disposed", StringComparison.Ordinal)));
    }

    [Fact]
    public void ACommittedBuildKeepsEverythingAndReturnsTheResult()
    {
        var log = new List<string>();
        var built = Build(log, fail: false);

        Assert.Equal(["a", "b", "c"], log);
        Assert.All(built, r => Assert.False(r.Disposed));
    }

    [Fact]
    public void ADisposeThatThrowsDuringCleanupLeavesTheOriginalExceptionAndTheOthersStillRun()
    {
        var log = new List<string>();
        var original = new InvalidOperationException("the build failed");
        Resource first = null!, last = null!;
        var seen = Assert.Throws<InvalidOperationException>(BuildAndFail);

        Assert.Same(original, seen);
        Assert.True(first.Disposed);
        Assert.True(last.Disposed);
        Assert.Equal(["disposed last", "disposed throws", "disposed first"], log.Where(e => e.StartsWith("disposed", StringComparison.Ordinal)));

        void BuildAndFail()
        {
            using var owned = new Owned();
            first = owned.Own(new Resource("first", log));
            owned.Own(new Resource("throws", log, throwOnDispose: true));
            last = owned.Own(new Resource("last", log));
            throw original;
        }
    }

    [Fact]
    public void DisposingTwiceDisposesEachResourceOnce()
    {
        var log = new List<string>();
        var owned = new Owned();
        var a = owned.Own(new Resource("a", log));
        owned.Dispose();
        owned.Dispose();
        owned.DisposeAll();
        Assert.Equal(1, a.DisposeCount);

        var kept = new Owned();
        var b = kept.Own(new Resource("b", log));
        kept.DisposeAll();
        kept.DisposeAll();
        kept.Dispose();
        Assert.Equal(1, b.DisposeCount);
        Assert.Empty(kept.Items);
    }

    [Fact]
    public void DisposeAllDisposesEverythingNewestFirstThenRethrowsTheFailure()
    {
        var log = new List<string>();
        var owned = new Owned();
        var a = owned.Own(new Resource("a", log));
        var thrower = owned.Own(new Resource("throws", log, throwOnDispose: true));
        var c = owned.Own(new Resource("c", log));

        var e = Assert.Throws<InvalidOperationException>(owned.DisposeAll);

        Assert.Equal("throws: dispose failed", e.Message);
        Assert.True(a.Disposed && thrower.Disposed && c.Disposed);
        Assert.Equal(["disposed c", "disposed throws", "disposed a"], log.Where(l => l.StartsWith("disposed", StringComparison.Ordinal)));
    }

    [Fact]
    public void DisposeAllReportsEveryFailureWhenSeveralThrow()
    {
        var log = new List<string>();
        var owned = new Owned();
        owned.Own(new Resource("x", log, throwOnDispose: true));
        owned.Own(new Resource("y", log, throwOnDispose: true));

        var e = Assert.Throws<AggregateException>(owned.DisposeAll);

        Assert.Equal(["y: dispose failed", "x: dispose failed"], e.InnerExceptions.Select(i => i.Message));
    }

    [Fact]
    public void AConstructorThatThrowsDisposesItselfAndTheCallerSeesItsException()
    {
        var log = new List<string>();
        var e = Assert.Throws<InvalidOperationException>(() => new HalfBuilt(log, fail: true, throwOnDispose: true));

        Assert.Equal("constructor failed", e.Message);
        Assert.Equal(["made", "disposed half-built"], log);

        log.Clear();
        using (new HalfBuilt(log, fail: false, throwOnDispose: false))
            Assert.Equal(["made"], log);
        Assert.Equal(["made", "disposed half-built"], log);
    }

    [Fact]
    public void OwningNothingIsRefused()
    {
        using var owned = new Owned();
        Assert.Throws<ArgumentNullException>(() => owned.Own<IDisposable>(null!));
    }

    [Fact]
    public void AFileTooShortForACheckpointIsClosedWhenOpeningFails()
    {
        // A real user of the helper: MappedFile owns its stream until the mapping exists; a failure before that closes it.
        string path = Path.Combine(Path.GetTempPath(), $"rain-owned-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        try
        {
            var e = Assert.Throws<CheckpointFormatException>(() => MappedFile.Open(path, 8));
            Assert.Contains("3 bytes", e.Message, StringComparison.Ordinal);

            // Nothing holds the file open: .NET refuses FileShare.None while any handle to the file is open (a leaked stream fails here).
            using var exclusive = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            Assert.Equal(3, exclusive.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Resource[] Build(List<string> log, bool fail)
    {
        using var owned = new Owned();
        var a = owned.Own(new Resource("a", log));
        var b = owned.Own(new Resource("b", log));
        var c = owned.Own(new Resource("c", log));
        if (fail)
            throw new InvalidOperationException("step 3 failed");
        return owned.Commit<Resource[]>([a, b, c]);
    }

    private sealed class Resource : IDisposable
    {
        private readonly List<string> _log;
        private readonly bool _throwOnDispose;

        public Resource(string name, List<string> log, bool throwOnDispose = false)
        {
            Name = name;
            _log = log;
            _throwOnDispose = throwOnDispose;
            log.Add(name);
        }

        public string Name { get; }

        public int DisposeCount { get; private set; }

        public bool Disposed => DisposeCount > 0;

        public void Dispose()
        {
            DisposeCount++;
            _log.Add("disposed " + Name);
            if (_throwOnDispose)
                throw new InvalidOperationException($"{Name}: dispose failed");
        }
    }

    private sealed class HalfBuilt : IDisposable
    {
        private readonly List<string> _log;
        private readonly bool _throwOnDispose;

        public HalfBuilt(List<string> log, bool fail, bool throwOnDispose)
        {
            _log = log;
            _throwOnDispose = throwOnDispose;
            using (var built = new Owned(this))
            {
                log.Add("made");
                if (fail)
                    throw new InvalidOperationException("constructor failed");
                built.Commit();
            }
        }

        public void Dispose()
        {
            _log.Add("disposed half-built");
            if (_throwOnDispose)
                throw new InvalidOperationException("dispose failed");
        }
    }
}
