using System.Runtime.CompilerServices;

namespace Serverless.Ml.Data.Csv;

/// <summary>A run of complete CSV records copied out of the file, ready to be parsed independently.</summary>
internal sealed class CsvBlock
{
    /// <summary>Record bytes; only the first <see cref="Length"/> are valid (the array may be reused and longer).</summary>
    public byte[] Data { get; set; } = [];

    /// <summary>Valid bytes in <see cref="Data"/>.</summary>
    public int Length { get; set; }

    /// <summary>Records in the block (the arrays below may be longer).</summary>
    public int Count { get; set; }

    /// <summary>Exclusive end offset of each record (the position of its '\n', or the data length).</summary>
    public int[] RecordEnds { get; set; } = [];

    /// <summary>Physical line (1-based) of each record's start.</summary>
    public long[] RecordLines { get; set; } = [];

    /// <summary>Position of the block in the file (0-based), set by readers that fan blocks out.</summary>
    public long Index { get; set; }
}

/// <summary>
/// Stage one of CSV reading: finds record boundaries (newlines outside quotes) with vectorized searches and cuts
/// the file into blocks of at most N records and about <see cref="BlockBytes"/> bytes. Parsing blocks is then
/// independent, hence parallel. Memory is bounded whatever the file: the buffer holds one block plus at most one
/// record, and a record longer than <see cref="CsvReadOptions.MaxRecordBytes"/> is a <see cref="CsvFormatException"/>
/// (line, byte offset, a short prefix) as soon as the limit is passed, before more of it is read. Positions inside
/// the buffer are ints, so both bounds keep them far below 2 GB; file offsets and lines are longs.
/// Quirk: any double quote toggles the quoted state here, so a stray quote inside an unquoted field
/// (<c>5'11"</c>) makes the record run on to the next quote; RFC 4180 forbids such fields.
/// </summary>
internal sealed class CsvSplitter : IDisposable
{
    /// <summary>A block is closed after the record that reaches this many bytes (records keep their own limit).</summary>
    public const int BlockBytes = 16 << 20;

    private readonly Stream _stream;
    private readonly string _path;
    private readonly int _maxRecord;
    private byte[] _buf = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _eof;
    private long _line = 1;
    private long _offset; // file offset of _buf[_start]

    /// <summary>Wraps a stream (owned); <paramref name="path"/> names it in errors.</summary>
    public CsvSplitter(Stream stream, string path, int maxRecordBytes)
    {
        _stream = stream;
        _path = path;
        _maxRecord = maxRecordBytes;
        Fill();
        if (_end >= 3 && _buf[0] == 0xEF && _buf[1] == 0xBB && _buf[2] == 0xBF)
        {
            _start = 3;
            _offset = 3;
        }
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
        if (_end == _buf.Length) Array.Resize(ref _buf, (int)Math.Min((long)_buf.Length * 2, Array.MaxLength));
        var n = _stream.Read(_buf, _end, _buf.Length - _end);
        if (n == 0) { _eof = true; return false; }
        _end += n;
        return true;
    }

    /// <summary>
    /// Reads up to <paramref name="maxRecords"/> records; null at end of file. With <paramref name="reuse"/> the
    /// block's arrays are refilled (grown when needed) instead of allocating a new block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public CsvBlock? Next(int maxRecords, CsvBlock? reuse = null)
    {
        // All positions are relative to _start, which Fill may move.
        var block = reuse ?? new CsvBlock();
        var initial = Math.Min(maxRecords, 1 << 16);
        if (block.RecordEnds.Length < initial) block.RecordEnds = new int[initial];
        if (block.RecordLines.Length < initial) block.RecordLines = new long[initial];
        var ends = block.RecordEnds;
        var lines = block.RecordLines;
        var count = 0;
        var pos = 0;
        var recStart = 0;
        var inQuotes = false;
        var line = _line;
        var recLine = line;
        var atEof = false;
        while (count < maxRecords)
        {
            if (pos - recStart > _maxRecord) throw TooLong(recLine, recStart);
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
            if (count == ends.Length) Grow(block, ref ends, ref lines);
            if (pos - 1 - recStart > _maxRecord) throw TooLong(recLine, recStart);
            ends[count] = pos - 1;
            lines[count++] = recLine;
            line++;
            recLine = line;
            recStart = pos;
            if (pos >= BlockBytes) break;
        }
        if (atEof && _start + recStart < _end)
        {
            if (_end - _start - recStart > _maxRecord) throw TooLong(recLine, recStart);
            if (count == ends.Length) Grow(block, ref ends, ref lines);
            ends[count] = _end - _start;
            lines[count++] = recLine;
            recStart = _end - _start;
        }
        if (count == 0) return null;
        if (block.Data.Length < recStart) block.Data = new byte[Math.Max(recStart, block.Data.Length + (block.Data.Length >> 2))];
        Buffer.BlockCopy(_buf, _start, block.Data, 0, recStart);
        block.Length = recStart;
        block.Count = count;
        _start += recStart;
        _offset += recStart;
        _line = recLine;
        return block;
    }

    /// <summary>The error for a record past the limit: where it starts and its first bytes, never the record itself.</summary>
    private CsvFormatException TooLong(long line, int recStart)
    {
        var head = _buf.AsSpan(_start + recStart, Math.Min(40, _end - _start - recStart));
        return new CsvFormatException(_path, line, null, $"a record starting at byte offset {_offset + recStart} ('{CsvReader.Show(head)}...') is longer than {nameof(CsvReadOptions.MaxRecordBytes)} ({_maxRecord} bytes): a missing newline or an unclosed quote, or raise the limit");
    }

    private static void Grow(CsvBlock block, ref int[] ends, ref long[] lines)
    {
        Array.Resize(ref ends, Math.Max(16, ends.Length * 2));
        Array.Resize(ref lines, ends.Length);
        block.RecordEnds = ends;
        block.RecordLines = lines;
    }
}
