using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>
/// Finds the state dict in an unpickled checkpoint: the root dict itself when it holds tensors, else a nested
/// wrapper (<c>state_dict</c>, <c>module</c>, <c>model</c>, or the one dict value that holds tensors), a few levels deep.
/// </summary>
internal static class StateDictLocator
{
    private const int MaxDepth = 4;
    private static readonly string[] WrapperKeys = ["state_dict", "module", "model"];

    public static List<(string Name, TensorRef Tensor)> Find(object root, string path, string entry)
    {
        var dict = Unwrap(root, path, entry, 0);
        var result = new List<(string, TensorRef)>(dict.Items.Count);
        foreach (var (key, value) in dict.Items)
        {
            if (value is not TensorRef tensor)
                continue; // plain entries beside tensors (e.g. an epoch counter) are not weights
            if (key is not string name)
                throw new CheckpointFormatException(path, entry, $"a tensor's key is not a string but {key}.");
            result.Add((name, tensor));
        }

        return result;
    }

    private static PickleDict Unwrap(object value, string path, string entry, int depth)
    {
        if (value is not PickleDict dict)
            throw new CheckpointFormatException(path, entry, $"the pickle holds a {PickleValues.Describe(value)}, expected a dict of tensors (a state dict).");
        if (dict.Items.Values.Any(v => v is TensorRef))
            return dict;
        if (depth < MaxDepth)
        {
            foreach (string key in WrapperKeys)
            {
                if (dict.Items.TryGetValue(key, out var inner) && inner is PickleDict)
                    return Unwrap(inner, path, entry, depth + 1);
            }

            var known = new Dictionary<PickleDict, bool>(ReferenceEqualityComparer.Instance) { [dict] = false };
            var candidates = dict.Items.Values.OfType<PickleDict>().Distinct().Where(d => HoldsTensors(d, depth + 1, known)).ToList();
            if (candidates.Count == 1)
                return Unwrap(candidates[0], path, entry, depth + 1);
        }

        string keys = string.Join(", ", dict.Items.Keys.Take(10).Select(k => $"'{k}'"));
        throw new CheckpointFormatException(path, entry, $"no state dict found: the top-level dict (keys {keys}) holds no tensors and no single wrapped dict of tensors.");
    }

    // A hostile pickle can make dicts contain themselves many times over: each dict is searched once at most
    // (a dict still being searched counts as tensor-free, which breaks cycles).
    private static bool HoldsTensors(PickleDict dict, int depth, Dictionary<PickleDict, bool> known)
    {
        if (known.TryGetValue(dict, out bool holds))
            return holds;
        known[dict] = false;
        holds = dict.Items.Values.Any(v => v is TensorRef)
            || (depth < MaxDepth && dict.Items.Values.OfType<PickleDict>().Any(d => HoldsTensors(d, depth + 1, known)));
        known[dict] = holds;
        return holds;
    }
}
