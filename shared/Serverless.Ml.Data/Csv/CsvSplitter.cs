using System.Runtime.CompilerServices;

namespace Serverless.Ml.Data.Csv;

/// <summary>A run of complete CSV records copied out of the file, ready to be parsed independently.</summary>
internal sealed class CsvBlock
{
    public required byte[] Data { get; init; }

    /// <summary>Exclusive end offset of each record (the position of its '\n', or the data length).</summary>
    public required int[] RecordEnds { get; init; }

    /// <summary>Physical line (1-based) of each record's start.</summary>
    public required long[] RecordLines { get; init; }
}

/// <summary>
/// Stage one of CSV reading: finds record boundaries (newlines outside quotes) with vectorized searches and cuts
/// the file into blocks of at most N records. Parsing blocks is then independent, hence parallel.
/// Quirk: any double quote toggles the quoted state here, so a stray quote inside an unquoted field
/// (<c>5'11"</c>) makes the record run on to the next quote; RFC 4180 forbids such fields.
/// </summary>
internal sealed class CsvSplitter : IDisposable
{
    private readonly Stream _stream;
    private byte[] _buf = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _eof;
    private long _line = 1;

    public CsvSplitter(Stream stream)
    {
        _stream = stream;
        Fill();
        if (_end >= 3 && _buf[0] == 0xEF && _buf[1] == 0xBB && _buf[2] == 0xBF) _start = 3;
    }

    public void Dispose() => _stream.Dispose();

    private bool Fill()
    {
        if (_eof) return false;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
        var n = _stream.Read(_buf, _end, _buf.Length - _end);
        if (n == 0) { _eof = true; return false; }
        _end += n;
        return true;
    }

    /// <summary>Reads up to <paramref name="maxRecords"/> records; null at end of file.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public CsvBlock? Next(int maxRecords)
    {
        // All positions are relative to _start, which Fill may move.
        var ends = new List<int>(Math.Min(maxRecords, 1 << 16));
        var lines = new List<long>(Math.Min(maxRecords, 1 << 16));
        var pos = 0;
        var recStart = 0;
        var inQuotes = false;
        var line = _line;
        var recLine = line;
        var atEof = false;
        while (ends.Count < maxRecords)
        {
            if (_start + pos >= _end)
            {
                if (!Fill()) { atEof = true; break; }
                continue;
            }
            var span = _buf.AsSpan(_start + pos, _end - _start - pos);
            if (inQuotes)
            {
                var q = span.IndexOf((byte)'"');
                var scanned = q < 0 ? span : span[..q];
                line += scanned.Count((byte)'\n');
                if (q < 0) { pos += span.Length; continue; }
                pos += q + 1;
                inQuotes = false;
                continue;
            }
            var k = span.IndexOfAny((byte)'"', (byte)'\n');
            if (k < 0) { pos += span.Length; continue; }
            pos += k + 1;
            if (span[k] == (byte)'"') { inQuotes = true; continue; }
            ends.Add(pos - 1);
            lines.Add(recLine);
            line++;
            recLine = line;
            recStart = pos;
        }
        if (atEof && _start + recStart < _end)
        {
            ends.Add(_end - _start);
            lines.Add(recLine);
            recStart = _end - _start;
        }
        if (ends.Count == 0) return null;
        var data = new byte[recStart];
        Buffer.BlockCopy(_buf, _start, data, 0, recStart);
        _start += recStart;
        _line = recLine;
        return new CsvBlock { Data = data, RecordEnds = ends.ToArray(), RecordLines = lines.ToArray() };
    }
}
