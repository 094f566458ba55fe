using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Ml.Training.Models;

namespace Serverless.Ml.Training.Training;

/// <summary>What a checkpoint says about the run it belongs to, without its tensors.</summary>
/// <param name="Architecture">The network's <see cref="NeuralNetwork.Architecture"/>.</param>
/// <param name="Optimizer"><c>adam</c> or <c>sgd</c>.</param>
/// <param name="Seed">The trainer's seed.</param>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="Epoch">Zero-based epoch in progress.</param>
/// <param name="BatchInEpoch">Mini-batches of that epoch done.</param>
/// <param name="Completed">True when the run had finished (re-running it is a no-op).</param>
public sealed record CheckpointInfo(string Architecture, string Optimizer, ulong Seed, long Step, int Epoch, int BatchInEpoch, bool Completed);

/// <summary>
/// The checkpoint file: <c>"SMLTCKP1"</c>, a little-endian int32 header length, a UTF-8 JSON header (run
/// position, early-stopping state, curves, tensor names and lengths), the tensors as little-endian float32 in
/// header order (weights, optimizer state, best weights), then an 8-byte FNV-1a-64 checksum of everything before.
/// Written to a temporary file in the same directory, flushed to disk, then renamed over the old one, so a crash
/// leaves either the old or the new checkpoint, never a torn one.
/// </summary>
public static class TrainingCheckpoint
{
    private static readonly byte[] s_magic = "SMLTCKP1"u8.ToArray();
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads a checkpoint's header.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or corrupt.</exception>
    public static CheckpointInfo ReadInfo(string path)
    {
        var (h, _) = Read(path);
        return new CheckpointInfo(h.Architecture, h.Optimizer, h.Seed, h.Step, h.Epoch, h.BatchInEpoch, h.Completed);
    }

    internal sealed record Tensor(string Name, int Length);

    internal sealed record Header(
        int Version, string Architecture, string Optimizer, ulong Seed, int BatchSize, long Step, long OptimizerStep,
        int Epoch, int BatchInEpoch, double EpochLossSum, double EpochMetricSum, long EpochSamples,
        double? BestEvalLoss, int BadEpochs, bool Completed, StopReason Reason, string LossName, string MetricName,
        IReadOnlyList<EpochRecord> History, IReadOnlyList<Tensor> Tensors);

    internal static void Write(string path, Header header, IReadOnlyList<float[]> tensors)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(header, s_json);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var hash = new Fnv64();
                void Put(ReadOnlySpan<byte> bytes)
                {
                    hash.Append(bytes);
                    fs.Write(bytes);
                }
                Put(s_magic);
                Span<byte> len = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(len, json.Length);
                Put(len);
                Put(json);
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Checkpoints are written on little-endian machines.");
                foreach (var t in tensors) Put(MemoryMarshal.AsBytes(t.AsSpan()));
                Span<byte> sum = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(sum, hash.Value);
                fs.Write(sum);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    internal static (Header Header, float[][] Tensors) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < s_magic.Length + 4 + 8 || !bytes.AsSpan(0, s_magic.Length).SequenceEqual(s_magic))
            throw new InvalidDataException($"{path}: not a training checkpoint.");
        var body = bytes.AsSpan(0, bytes.Length - 8);
        var hash = new Fnv64();
        hash.Append(body);
        if (hash.Value != BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)))
            throw new InvalidDataException($"{path}: checkpoint checksum mismatch (corrupt file).");
        var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(s_magic.Length));
        var offset = s_magic.Length + 4;
        if (jsonLength < 0 || offset + jsonLength > body.Length) throw new InvalidDataException($"{path}: bad header length.");
        var header = JsonSerializer.Deserialize<Header>(body.Slice(offset, jsonLength), s_json)
            ?? throw new InvalidDataException($"{path}: empty header.");
        if (header.Version != FormatVersion) throw new InvalidDataException($"{path}: checkpoint format {header.Version}, expected {FormatVersion}.");
        offset += jsonLength;
        var tensors = new float[header.Tensors.Count][];
        for (var i = 0; i < tensors.Length; i++)
        {
            var n = header.Tensors[i].Length;
            if (n < 0 || offset + 4L * n > body.Length) throw new InvalidDataException($"{path}: tensor '{header.Tensors[i].Name}' runs past the end.");
            tensors[i] = MemoryMarshal.Cast<byte, float>(body.Slice(offset, 4 * n)).ToArray();
            offset += 4 * n;
        }
        if (offset != body.Length) throw new InvalidDataException($"{path}: {body.Length - offset} unexpected trailing bytes.");
        return (header, tensors);
    }

    internal static int FormatVersionNumber => FormatVersion;

    private struct Fnv64
    {
        private ulong _h;

        public Fnv64() => _h = 14695981039346656037UL;

        public readonly ulong Value => _h;

        public void Append(ReadOnlySpan<byte> data)
        {
            var h = _h;
            foreach (var b in data) h = (h ^ b) * 1099511628211UL;
            _h = h;
        }
    }
}
