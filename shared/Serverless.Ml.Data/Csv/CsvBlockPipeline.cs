using System.Collections.Concurrent;

namespace Serverless.Ml.Data.Csv;

/// <summary>
/// The parallel skeleton of the whole-file CSV passes (kind inference, fused statistics): the caller's thread runs
/// the splitter and cuts the file into blocks of at most <c>BatchSize</c> records (2W+1 pooled blocks exist at any
/// time: one parsing and one queued per worker, one filling); W = <c>Parallelism</c> workers take them, block i going
/// to worker i mod W, so a pass that merges per-worker state in worker order is deterministic for a given W. The work
/// returns the index of a block after which the pass may stop (<see cref="long.MaxValue"/>: go on): blocks up to it
/// are still worked on, later ones are not, and nothing more is read.
/// The first exception of a worker or the splitter ends the pass and is rethrown, except a record the splitter rejects
/// as malformed (<see cref="CsvFormatException"/>: too long): reading stops there, the blocks before it are still
/// worked on, and the error is returned, so the caller reports problems of earlier rows first (file order).
/// </summary>
internal static class CsvBlockPipeline
{
    /// <summary>
    /// Runs <paramref name="work"/>(worker, block) over the data records (after the header) up to
    /// <paramref name="maxRecords"/>; returns the splitter's error for a malformed record after them, if reading stopped at one.
    /// </summary>
    public static CsvFormatException? Run(Func<Stream> open, string path, CsvReadOptions options, long maxRecords, Func<int, CsvBlock, long> work, CancellationToken cancellation)
    {
        CsvFormatException? ahead = null;
        var workers = Math.Max(1, options.Parallelism);
        long stopAfter = long.MaxValue; // index of a block after which nothing more is read
        var queues = Enumerable.Range(0, workers).Select(_ => new BlockingCollection<CsvBlock>(2)).ToArray();
        var free = new BlockingCollection<CsvBlock>();
        for (var i = 0; i < (workers * 2) + 1; i++) free.Add(new CsvBlock());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);

        void Work(int w)
        {
            try
            {
                foreach (var block in queues[w].GetConsumingEnumerable(stop.Token))
                {
                    if (block.Index <= Interlocked.Read(ref stopAfter) && work(w, block) is var stopAt && stopAt != long.MaxValue)
                    {
                        long seen;
                        while ((seen = Interlocked.Read(ref stopAfter)) > stopAt && Interlocked.CompareExchange(ref stopAfter, stopAt, seen) != seen)
                        {
                        }
                    }
                    free.Add(block);
                }
            }
            catch
            {
                stop.Cancel();
                throw;
            }
        }

        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var id = w;
            tasks[w] = Task.Factory.StartNew(() => Work(id), stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        try
        {
            using var splitter = new CsvSplitter(open(), path, options.MaxRecordBytes);
            if (options.HasHeader) splitter.Next(1);
            long index = 0;
            long records = 0;
            while (Interlocked.Read(ref stopAfter) == long.MaxValue && records < maxRecords)
            {
                cancellation.ThrowIfCancellationRequested();
                var block = free.Take(stop.Token);
                try
                {
                    if (splitter.Next((int)Math.Min(options.BatchSize, maxRecords - records), block) is null) break;
                }
                catch (CsvFormatException e)
                {
                    ahead = e;
                    break;
                }
                records += block.Count;
                block.Index = index;
                queues[index % workers].Add(block, stop.Token);
                index++;
            }
        }
        catch
        {
            stop.Cancel();
            throw;
        }
        finally
        {
            foreach (var q in queues) q.CompleteAdding();
            try
            {
                Task.WaitAll(tasks);
            }
            catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
            {
                cancellation.ThrowIfCancellationRequested();
            }
            catch (AggregateException e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions.First(x => x is not OperationCanceledException)).Throw();
            }
            foreach (var q in queues) q.Dispose();
            free.Dispose();
        }
        return ahead;
    }
}
