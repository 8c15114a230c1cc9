using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>A tensor of a checkpoint that holds NaN or ±∞ values.</summary>
/// <param name="Name">The tensor.</param>
/// <param name="Count">How many of its values are not finite.</param>
/// <param name="FirstIndex">The first one's element index.</param>
/// <param name="FirstValue">Its value (NaN, +∞ or −∞).</param>
public sealed record NonFiniteTensor(string Name, long Count, long FirstIndex, float FirstValue);

/// <summary>Reads every tensor of a checkpoint once: what <c>rain inspect</c> does to vouch for the data, not only the index.</summary>
public static class CheckpointScan
{
    /// <summary>
    /// Reads every tensor's stored bytes (so a torch.save zip's CRC-32s are all checked) and lists the tensors holding
    /// non-finite values. Memory stays small: values are converted in blocks.
    /// </summary>
    /// <exception cref="CheckpointFormatException">Stored bytes fail their CRC-32 (the message names the entry).</exception>
    public static IReadOnlyList<NonFiniteTensor> NonFiniteTensors(ICheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var found = new List<NonFiniteTensor>();
        foreach (var t in checkpoint.Tensors)
        {
            var (count, first, value) = FiniteCheck.CountNonFinite(t.DType, checkpoint.ReadRaw(t.Name));
            if (count > 0)
                found.Add(new NonFiniteTensor(t.Name, count, first, value));
        }

        return found;
    }
}
