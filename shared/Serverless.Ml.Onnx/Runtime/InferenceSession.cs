using System.Runtime.InteropServices;
using Ort = Microsoft.ML.OnnxRuntime;

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// A loaded ONNX model, ready to run: the unit a model server, InfraValidator or Evaluator keeps and
/// reuses (loading is the expensive part). It runs on the official Microsoft.ML.OnnxRuntime package
/// (<see cref="Native"/>) and adds what every caller here needs on top: inputs and outputs as managed
/// <see cref="NamedTensor"/>s, validation that names the model, errors that say which model failed, and a
/// reference count so that disposing while runs are in flight waits for them (the package's session
/// would free native memory under a running call). <see cref="Run"/> is thread-safe, as ORT's Run is.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly SessionHandle _handle;
    private readonly Ort.RunOptions _runOptions;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly string[] _allOutputNames;
    private readonly int[] _allOutputIndices;
    private readonly ShapePlan?[] _outputPlans;
    private volatile bool _preallocate = true;

    private InferenceSession(Ort.InferenceSession session, string source)
    {
        Native = session;
        Source = source;
        Inputs = session.InputNames.Select(n => ToMetadata(n, session.InputMetadata[n])).ToArray();
        Outputs = session.OutputNames.Select(n => ToMetadata(n, session.OutputMetadata[n])).ToArray();
        _inputIndex = Inputs.Select((m, i) => (m.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        _outputIndex = Outputs.Select((m, i) => (m.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        _allOutputNames = Outputs.Select(o => o.Name).ToArray();
        _allOutputIndices = Enumerable.Range(0, Outputs.Count).ToArray();
        _outputPlans = Outputs.Select(o => ShapePlan.For(o, Inputs)).ToArray();
        _runOptions = new Ort.RunOptions();
        _handle = new SessionHandle(session, _runOptions);
    }

    /// <summary>The model's inputs, in declaration order.</summary>
    public IReadOnlyList<NodeMetadata> Inputs { get; }

    /// <summary>The model's outputs, in declaration order.</summary>
    public IReadOnlyList<NodeMetadata> Outputs { get; }

    /// <summary>Where the model came from (file path, or a description for in-memory models); used in error messages.</summary>
    public string Source { get; }

    /// <summary>
    /// The package's session, for callers that feed <see cref="Ort.OrtValue"/>s themselves (benchmarks measuring
    /// raw ONNX Runtime). It is released with this object; do not dispose it separately.
    /// </summary>
    public Ort.InferenceSession Native { get; }

    /// <summary>False once a run showed that the declared output shapes cannot be trusted (tests).</summary>
    internal bool PreallocatesOutputs => _preallocate;

    /// <summary>The ONNX Runtime version the process runs, e.g. <c>1.32.0</c>.</summary>
    public static string RuntimeVersion => Ort.OrtEnv.Instance().GetVersionString();

    /// <summary>Loads a model from its serialized bytes.</summary>
    /// <param name="model">The .onnx file's content.</param>
    /// <param name="options">Session settings; null for defaults.</param>
    /// <param name="sourceName">A name for error messages (e.g. the artifact URI).</param>
    /// <exception cref="OnnxRuntimeException">ORT rejects the model; the message includes ORT's reason.</exception>
    public static InferenceSession FromBytes(byte[] model, InferenceSessionOptions? options = null, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Length == 0) throw new ArgumentException("The model is empty.", nameof(model));
        var source = sourceName ?? $"<in-memory model, {model.Length} bytes>";
        return Create(source, options, o => new Ort.InferenceSession(model, o));
    }

    /// <summary>Loads a model file.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="OnnxRuntimeException">ORT rejects the model; the message names the file and includes ORT's reason.</exception>
    public static InferenceSession FromFile(string path, InferenceSessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"ONNX model file '{full}' does not exist.", full);
        return Create(full, options, o => new Ort.InferenceSession(full, o));
    }

    /// <summary>
    /// Runs the model. Every input the model declares must be given; <paramref name="outputNames"/>
    /// selects outputs (null: all, in declaration order). Results come back in the requested order.
    /// Numeric inputs are pinned and handed to ONNX Runtime without copying; outputs are copied into
    /// managed arrays, so nothing returned refers to native memory.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown or duplicate name, or an element type the model does not declare.</exception>
    /// <exception cref="OnnxRuntimeException">ORT fails, e.g. on a wrong shape.</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var (outNames, outIdx) = ResolveOutputs(outputNames);
        var inNames = new string[inputs.Count];
        var byInput = new OnnxTensor?[Inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var (name, tensor) = inputs[i];
            ArgumentNullException.ThrowIfNull(tensor, $"{nameof(inputs)}[{i}].Tensor");
            if (name is null || !_inputIndex.TryGetValue(name, out var k))
                throw new ArgumentException($"'{name}' is not an input of {Source} (inputs: {string.Join(", ", Inputs)}).", nameof(inputs));
            if (byInput[k] is not null)
                throw new ArgumentException($"Input '{name}' is given twice.", nameof(inputs));
            var declared = Inputs[k].ElementType;
            if (declared != OnnxElementType.Undefined && declared != tensor.ElementType)
                throw new ArgumentException($"Input '{name}' of {Source} is {declared}; got {tensor.ElementType}.", nameof(inputs));
            inNames[i] = Inputs[k].Name;
            byInput[k] = tensor;
        }

        var values = new Ort.OrtValue[inputs.Count];
        var addedRef = false;
        try
        {
            _handle.DangerousAddRef(ref addedRef);
            for (var i = 0; i < values.Length; i++) values[i] = ToOrtValue(inputs[i].Tensor);
            if (_preallocate && TryRunIntoManagedOutputs(inNames, values, outNames, outIdx, byInput) is { } direct) return direct;
            Ort.IDisposableReadOnlyCollection<Ort.OrtValue> results;
            try
            {
                results = Native.Run(_runOptions, inNames, values, outNames);
            }
            catch (Ort.OnnxRuntimeException e)
            {
                throw new OnnxRuntimeException($"Running {Source}: {e.Message}", e);
            }
            using var owned = results;
            var tensors = new NamedTensor[outNames.Length];
            var j = 0;
            foreach (var value in results)
            {
                tensors[j] = new NamedTensor(outNames[j], FromOrtValue(value, outNames[j]));
                j++;
            }
            return tensors;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
            if (addedRef) _handle.DangerousRelease();
        }
    }

    // ORT writes the outputs straight into new managed arrays when their shapes are known before the run (every
    // dimension fixed or named like an input's, e.g. "batch"): no native output values to query, copy and free,
    // about 1 us less per call. Returns null where that is not possible, so the caller lets ORT allocate. A model
    // whose declared output shape is wrong fails here; then the call is repeated with ORT allocating, and if that
    // succeeds this session stops preallocating.
    private NamedTensor[]? TryRunIntoManagedOutputs(string[] inNames, Ort.OrtValue[] values, string[] outNames, int[] outIdx, OnnxTensor?[] byInput)
    {
        var tensors = new NamedTensor[outNames.Length];
        var outValues = new Ort.OrtValue[outNames.Length];
        try
        {
            for (var j = 0; j < outIdx.Length; j++)
            {
                var shape = _outputPlans[outIdx[j]]?.Resolve(byInput);
                if (shape is null) return null;
                var tensor = OnnxTensor.Allocate(Outputs[outIdx[j]].ElementType, shape);
                if (tensor is null) return null;
                tensors[j] = new NamedTensor(outNames[j], tensor);
                outValues[j] = ToOrtValue(tensor);
            }
            try
            {
                Native.Run(_runOptions, inNames, values, outNames, outValues);
            }
            catch (Ort.OnnxRuntimeException e)
            {
                try
                {
                    using var retry = Native.Run(_runOptions, inNames, values, outNames);
                }
                catch (Ort.OnnxRuntimeException)
                {
                    throw new OnnxRuntimeException($"Running {Source}: {e.Message}", e); // the inputs are at fault
                }
                _preallocate = false;
                return null;
            }
            return tensors;
        }
        finally
        {
            foreach (var v in outValues) v?.Dispose();
        }
    }

    /// <summary>Releases the native session (after in-flight runs finish). Calling it again does nothing.</summary>
    public void Dispose() => _handle.Dispose();

    // ------------------------------------------------------------------ creation

    private static InferenceSession Create(string source, InferenceSessionOptions? options, Func<Ort.SessionOptions, Ort.InferenceSession> open)
    {
        options ??= new InferenceSessionOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.IntraOpThreads, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.InterOpThreads, nameof(options));
        using var sessionOptions = new Ort.SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = options.InterOpThreads,
            GraphOptimizationLevel = options.OptimizationLevel,
            // ORT would print warnings (unused initializers) and every failed run to stderr; each error comes back as
            // an exception with the same message, so the log stays quiet.
            LogSeverityLevel = Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        var session = Open(open, sessionOptions, source);
        try
        {
            return new InferenceSession(session, source);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static NodeMetadata ToMetadata(string name, Ort.NodeMetadata m)
    {
        if (!m.IsTensor) return new NodeMetadata(name, OnnxElementType.Undefined, [], []);
        var dims = m.Dimensions.Select(d => (long)d).ToArray();
        var symbols = m.SymbolicDimensions.Select(s => s ?? "").ToArray();
        return new NodeMetadata(name, (OnnxElementType)(int)m.ElementDataType, dims, symbols);
    }

    private (string[] Names, int[] Indices) ResolveOutputs(IReadOnlyList<string>? names)
    {
        if (names is null) return (_allOutputNames, _allOutputIndices);
        var result = new string[names.Count];
        var indices = new int[names.Count];
        for (var j = 0; j < result.Length; j++)
        {
            if (names[j] is null || !_outputIndex.TryGetValue(names[j], out var k))
                throw new ArgumentException($"'{names[j]}' is not an output of {Source} (outputs: {string.Join(", ", Outputs)}).", nameof(names));
            if (Array.IndexOf(indices, k, 0, j) >= 0) throw new ArgumentException("An output is requested twice.", nameof(names));
            result[j] = Outputs[k].Name;
            indices[j] = k;
        }
        return (result, indices);
    }

    private static Ort.InferenceSession Open(Func<Ort.SessionOptions, Ort.InferenceSession> open, Ort.SessionOptions options, string source)
    {
        try
        {
            return open(options);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw new OnnxRuntimeException($"ONNX Runtime could not load model '{source}': {e.Message}", e);
        }
    }

    // ------------------------------------------------------------------ values

    private static Ort.OrtValue ToOrtValue(OnnxTensor tensor)
    {
        var shape = tensor.ShapeArray;
        switch (tensor.Data)
        {
            case float[] f: return Ort.OrtValue.CreateTensorValueFromMemory(f, shape);
            case double[] d: return Ort.OrtValue.CreateTensorValueFromMemory(d, shape);
            case long[] l: return Ort.OrtValue.CreateTensorValueFromMemory(l, shape);
            case bool[] b: return Ort.OrtValue.CreateTensorValueFromMemory(b, shape);
            case string[] s:
                // ORT keeps its own std::string per element: the UTF-8 is copied in, one element at a time.
                var value = Ort.OrtValue.CreateTensorWithEmptyStrings(Ort.OrtAllocator.DefaultInstance, shape);
                try
                {
                    for (var i = 0; i < s.Length; i++) value.StringTensorSetElementAt(s[i].AsSpan(), i);
                }
                catch
                {
                    value.Dispose();
                    throw;
                }
                return value;
            default:
                throw new NotSupportedException($"Input element type {tensor.ElementType} is not supported.");
        }
    }

    private OnnxTensor FromOrtValue(Ort.OrtValue value, string name)
    {
        if (!value.IsTensor)
            throw new NotSupportedException($"Output '{name}' of {Source} is a {value.OnnxType}, not a tensor.");
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        return (OnnxElementType)(int)info.ElementDataType switch
        {
            OnnxElementType.Float => OnnxTensor.Create(value.GetTensorDataAsSpan<float>().ToArray(), shape),
            OnnxElementType.Double => OnnxTensor.Create(value.GetTensorDataAsSpan<double>().ToArray(), shape),
            OnnxElementType.Int64 => OnnxTensor.Create(value.GetTensorDataAsSpan<long>().ToArray(), shape),
            OnnxElementType.Bool => OnnxTensor.Create(value.GetTensorDataAsSpan<bool>().ToArray(), shape),
            OnnxElementType.String => OnnxTensor.Create(value.GetStringTensorAsArray(), shape),
            var type => throw new NotSupportedException($"Output '{name}' of {Source} has element type {type}; supported: Float, Double, Int64, Bool, String (add a Cast to the graph)."),
        };
    }

    // How to know an output's shape before running: per dimension, a fixed size or (input, dimension) whose size it
    // takes, matched by the symbolic name (our graphs name the batch dimension "batch" on inputs and outputs alike).
    private sealed class ShapePlan(long[] fixedSizes, (int Input, int Dim)[] fromInputs)
    {
        public static ShapePlan? For(NodeMetadata output, IReadOnlyList<NodeMetadata> inputs)
        {
            if (output.ElementType is not (OnnxElementType.Float or OnnxElementType.Double or OnnxElementType.Int64 or OnnxElementType.Bool)) return null;
            var sizes = new long[output.Shape.Count];
            var from = new (int Input, int Dim)[output.Shape.Count];
            for (var d = 0; d < sizes.Length; d++)
            {
                sizes[d] = output.Shape[d];
                from[d] = (-1, -1);
                if (sizes[d] >= 0) continue;
                var symbol = output.SymbolicDimensions[d];
                if (symbol.Length == 0) return null;
                for (var i = 0; i < inputs.Count && from[d].Input < 0; i++)
                    for (var e = 0; e < inputs[i].SymbolicDimensions.Count; e++)
                        if (inputs[i].SymbolicDimensions[e] == symbol) { from[d] = (i, e); break; }
                if (from[d].Input < 0) return null;
            }
            return new ShapePlan(sizes, from);
        }

        public long[]? Resolve(OnnxTensor?[] byInput)
        {
            var shape = (long[])fixedSizes.Clone();
            for (var d = 0; d < shape.Length; d++)
            {
                var (input, dim) = fromInputs[d];
                if (input < 0) continue;
                var tensor = byInput[input];
                if (tensor is null || dim >= tensor.Shape.Count) return null;
                shape[d] = tensor.Shape[dim];
            }
            return shape;
        }
    }

    // The session and its run options are freed when the last of (owner, in-flight runs) lets go: SafeHandle's
    // reference count gives Run a cheap add-ref/release and makes Dispose wait for running calls.
    private sealed class SessionHandle : SafeHandle
    {
        private readonly Ort.InferenceSession _session;
        private readonly Ort.RunOptions _runOptions;

        public SessionHandle(Ort.InferenceSession session, Ort.RunOptions runOptions) : base(IntPtr.Zero, ownsHandle: true)
        {
            _session = session;
            _runOptions = runOptions;
            SetHandle(new IntPtr(1)); // a marker: the real native handle lives inside the package's session
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            _session.Dispose();
            _runOptions.Dispose();
            return true;
        }
    }
}
