using System.Runtime.InteropServices;
using System.Text;
using Serverless.Ml.Onnx.Runtime.Native;

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// A loaded ONNX model, ready to run: the unit a model server, InfraValidator or Evaluator keeps and
/// reuses (loading is the expensive part). <see cref="Run"/> is thread-safe, as ORT's Run is; disposing
/// while runs are in flight waits for them (the native session is reference-counted).
/// </summary>
public sealed unsafe class InferenceSession : IDisposable
{
    private readonly OrtEnvironment _env;
    private readonly SessionHandle _session;
    private readonly IntPtr[] _inputNamePtrs;
    private readonly IntPtr[] _outputNamePtrs;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly List<byte[]> _pinnedNames = [];

    private InferenceSession(OrtEnvironment env, SessionHandle session, string source)
    {
        _env = env;
        _session = session;
        Source = source;
        Inputs = ReadMetadata(input: true);
        Outputs = ReadMetadata(input: false);
        _inputIndex = Inputs.Select((m, i) => (m.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        _outputIndex = Outputs.Select((m, i) => (m.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        _inputNamePtrs = Inputs.Select(m => PinnedUtf8(m.Name)).ToArray();
        _outputNamePtrs = Outputs.Select(m => PinnedUtf8(m.Name)).ToArray();
    }

    /// <summary>The model's inputs, in declaration order.</summary>
    public IReadOnlyList<NodeMetadata> Inputs { get; }

    /// <summary>The model's outputs, in declaration order.</summary>
    public IReadOnlyList<NodeMetadata> Outputs { get; }

    /// <summary>Where the model came from (file path, or a description for in-memory models); used in error messages.</summary>
    public string Source { get; }

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
        return Create(source, options, (env, opts) =>
        {
            IntPtr session;
            fixed (byte* p = model)
            {
                var status = env.Api.CreateSessionFromArray(env.Handle, p, (nuint)model.Length, opts, &session);
                return (status, session);
            }
        });
    }

    /// <summary>Loads a model file.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="OnnxRuntimeException">ORT rejects the model; the message names the file and includes ORT's reason.</exception>
    public static InferenceSession FromFile(string path, InferenceSessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"ONNX model file '{full}' does not exist.", full);
        return Create(full, options, (env, opts) =>
        {
            IntPtr session;
            var utf8 = Encoding.UTF8.GetBytes(full + "\0"); // ORTCHAR_T is char (UTF-8) on Linux
            fixed (byte* p = utf8)
            {
                var status = env.Api.CreateSession(env.Handle, p, opts, &session);
                return (status, session);
            }
        });
    }

    /// <summary>
    /// Runs the model. Every input the model declares must be given; <paramref name="outputNames"/>
    /// selects outputs (null: all, in declaration order). Results come back in the requested order.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown or duplicate name, or an element type the model does not declare.</exception>
    /// <exception cref="OnnxRuntimeException">ORT fails, e.g. on a wrong shape.</exception>
    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var api = _env.Api;
        var outIdx = ResolveOutputs(outputNames);
        var nIn = inputs.Count;
        var inNames = new IntPtr[nIn];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < nIn; i++)
        {
            var (name, tensor) = inputs[i];
            ArgumentNullException.ThrowIfNull(tensor, $"{nameof(inputs)}[{i}].Tensor");
            if (name is null || !_inputIndex.TryGetValue(name, out var k))
                throw new ArgumentException($"'{name}' is not an input of {Source} (inputs: {string.Join(", ", Inputs)}).", nameof(inputs));
            if (!seen.Add(name))
                throw new ArgumentException($"Input '{name}' is given twice.", nameof(inputs));
            var declared = Inputs[k].ElementType;
            if (declared != OnnxElementType.Undefined && declared != tensor.ElementType)
                throw new ArgumentException($"Input '{name}' of {Source} is {declared}; got {tensor.ElementType}.", nameof(inputs));
            inNames[i] = _inputNamePtrs[k];
        }

        var inValues = new IntPtr[nIn];
        var pins = new GCHandle[nIn];
        var outNames = new IntPtr[outIdx.Length];
        var outValues = new IntPtr[outIdx.Length];
        for (var j = 0; j < outIdx.Length; j++) outNames[j] = _outputNamePtrs[outIdx[j]];
        var addedRef = false;
        try
        {
            _session.DangerousAddRef(ref addedRef);
            for (var i = 0; i < nIn; i++)
                inValues[i] = CreateValue(inputs[i].Tensor, out pins[i]);
            fixed (IntPtr* pInNames = inNames, pInValues = inValues, pOutNames = outNames, pOutValues = outValues)
            {
                var status = api.Run(_session.DangerousGetHandle(), IntPtr.Zero, pInNames, pInValues, (nuint)nIn, pOutNames, (nuint)outNames.Length, pOutValues);
                if (status != IntPtr.Zero) throw api.ToException(status, $"Running {Source}");
            }
            var results = new NamedTensor[outIdx.Length];
            for (var j = 0; j < outIdx.Length; j++)
                results[j] = new NamedTensor(Outputs[outIdx[j]].Name, ReadValue(outValues[j], Outputs[outIdx[j]].Name));
            return results;
        }
        finally
        {
            foreach (var v in outValues) if (v != IntPtr.Zero) api.ReleaseValue(v);
            foreach (var v in inValues) if (v != IntPtr.Zero) api.ReleaseValue(v);
            foreach (var p in pins) if (p.IsAllocated) p.Free();
            if (addedRef) _session.DangerousRelease();
        }
    }

    /// <summary>Releases the native session (after in-flight runs finish).</summary>
    public void Dispose() => _session.Dispose();

    // ------------------------------------------------------------------ creation

    private static InferenceSession Create(string source, InferenceSessionOptions? options,
        Func<OrtEnvironment, IntPtr, (IntPtr Status, IntPtr Session)> open)
    {
        options ??= new InferenceSessionOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.IntraOpThreads, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.InterOpThreads, nameof(options));
        var env = OrtEnvironment.Instance;
        var api = env.Api;
        IntPtr opts;
        api.Check(api.CreateSessionOptions(&opts), "Creating session options");
        try
        {
            if (options.IntraOpThreads > 0) api.Check(api.SetIntraOpNumThreads(opts, options.IntraOpThreads), "Setting intra-op threads");
            if (options.InterOpThreads > 0) api.Check(api.SetInterOpNumThreads(opts, options.InterOpThreads), "Setting inter-op threads");
            api.Check(api.SetSessionGraphOptimizationLevel(opts, (int)options.OptimizationLevel), "Setting the optimization level");
            var (status, session) = open(env, opts);
            if (status != IntPtr.Zero)
                throw api.ToException(status, $"ONNX Runtime could not load model '{source}'");
            var handle = new SessionHandle(api, session);
            try
            {
                return new InferenceSession(env, handle, source);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        finally
        {
            api.ReleaseSessionOptions(opts);
        }
    }

    private NodeMetadata[] ReadMetadata(bool input)
    {
        var api = _env.Api;
        var session = _session.DangerousGetHandle();
        nuint count;
        api.Check(input ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count));
        var result = new NodeMetadata[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* namePtr;
            api.Check(input
                ? api.SessionGetInputName(session, i, _env.DefaultAllocator, &namePtr)
                : api.SessionGetOutputName(session, i, _env.DefaultAllocator, &namePtr));
            var name = _env.TakeAllocatedString(namePtr);
            IntPtr typeInfo;
            api.Check(input ? api.SessionGetInputTypeInfo(session, i, &typeInfo) : api.SessionGetOutputTypeInfo(session, i, &typeInfo));
            try
            {
                IntPtr tensorInfo;
                api.Check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                if (tensorInfo == IntPtr.Zero)
                {
                    result[i] = new NodeMetadata(name, OnnxElementType.Undefined, [], []);
                    continue;
                }
                var (type, dims) = ReadTypeAndShape(tensorInfo);
                var symbols = new string[dims.Length];
                if (dims.Length > 0)
                {
                    var ptrs = new IntPtr[dims.Length];
                    fixed (IntPtr* p = ptrs)
                        api.Check(api.GetSymbolicDimensions(tensorInfo, (byte**)p, (nuint)dims.Length));
                    for (var d = 0; d < dims.Length; d++)
                        symbols[d] = ptrs[d] == IntPtr.Zero ? "" : Marshal.PtrToStringUTF8(ptrs[d]) ?? "";
                }
                result[i] = new NodeMetadata(name, type, dims, symbols);
            }
            finally
            {
                api.ReleaseTypeInfo(typeInfo); // also frees the tensor info cast from it
            }
        }
        return result;
    }

    private (OnnxElementType Type, long[] Dims) ReadTypeAndShape(IntPtr tensorInfo)
    {
        var api = _env.Api;
        int type;
        nuint rank;
        api.Check(api.GetTensorElementType(tensorInfo, &type));
        api.Check(api.GetDimensionsCount(tensorInfo, &rank));
        var dims = new long[(int)rank];
        if (dims.Length > 0)
            fixed (long* p = dims)
                api.Check(api.GetDimensions(tensorInfo, p, rank));
        return ((OnnxElementType)type, dims);
    }

    private int[] ResolveOutputs(IReadOnlyList<string>? names)
    {
        if (names is null) return Enumerable.Range(0, Outputs.Count).ToArray();
        var idx = new int[names.Count];
        for (var j = 0; j < idx.Length; j++)
        {
            if (names[j] is null || !_outputIndex.TryGetValue(names[j], out idx[j]))
                throw new ArgumentException($"'{names[j]}' is not an output of {Source} (outputs: {string.Join(", ", Outputs)}).", nameof(names));
        }
        if (idx.Distinct().Count() != idx.Length)
            throw new ArgumentException("An output is requested twice.", nameof(names));
        return idx;
    }

    // ------------------------------------------------------------------ values

    private IntPtr CreateValue(OnnxTensor tensor, out GCHandle pin)
    {
        var api = _env.Api;
        var shape = tensor.ShapeArray;
        var rank = shape.Length;
        var shapeCopy = stackalloc long[Math.Max(rank, 1)];
        for (var d = 0; d < rank; d++) shapeCopy[d] = shape[d];
        IntPtr value;
        if (tensor.ElementType == OnnxElementType.String)
        {
            pin = default;
            api.Check(api.CreateTensorAsOrtValue(_env.DefaultAllocator, shapeCopy, (nuint)rank, (int)OnnxElementType.String, &value));
            try
            {
                FillStrings(value, tensor.GetData<string>());
            }
            catch
            {
                api.ReleaseValue(value);
                throw;
            }
            return value;
        }
        var elementSize = tensor.ElementType switch
        {
            OnnxElementType.Float => sizeof(float),
            OnnxElementType.Double => sizeof(double),
            OnnxElementType.Int64 => sizeof(long),
            OnnxElementType.Bool => sizeof(bool),
            _ => throw new NotSupportedException($"Input element type {tensor.ElementType} is not supported."),
        };
        pin = GCHandle.Alloc(tensor.Data, GCHandleType.Pinned);
        var bytes = (nuint)(tensor.ElementCount * elementSize);
        api.Check(api.CreateTensorWithDataAsOrtValue(_env.CpuMemoryInfo, (void*)pin.AddrOfPinnedObject(), bytes, shapeCopy, (nuint)rank,
            (int)tensor.ElementType, &value));
        return value;
    }

    private void FillStrings(IntPtr value, string[] strings)
    {
        if (strings.Length == 0) return;
        // FillStringTensor copies, so one temporary block of null-terminated UTF-8 strings suffices.
        var total = 0;
        foreach (var s in strings) total = checked(total + Encoding.UTF8.GetByteCount(s) + 1);
        var buffer = (byte*)NativeMemory.Alloc((nuint)total);
        var ptrs = (byte**)NativeMemory.Alloc((nuint)(strings.Length * sizeof(byte*)));
        try
        {
            var offset = 0;
            for (var i = 0; i < strings.Length; i++)
            {
                ptrs[i] = buffer + offset;
                var written = Encoding.UTF8.GetBytes(strings[i], new Span<byte>(buffer + offset, total - offset));
                buffer[offset + written] = 0;
                offset += written + 1;
            }
            _env.Api.Check(_env.Api.FillStringTensor(value, ptrs, (nuint)strings.Length), "Filling a string tensor");
        }
        finally
        {
            NativeMemory.Free(ptrs);
            NativeMemory.Free(buffer);
        }
    }

    private OnnxTensor ReadValue(IntPtr value, string name)
    {
        var api = _env.Api;
        IntPtr info;
        api.Check(api.GetTensorTypeAndShape(value, &info), $"Reading output '{name}' of {Source} (only tensor outputs are supported)");
        OnnxElementType type;
        long[] dims;
        try
        {
            (type, dims) = ReadTypeAndShape(info);
        }
        finally
        {
            api.ReleaseTensorTypeAndShapeInfo(info);
        }
        long count = 1;
        foreach (var d in dims) count *= d;
        var n = checked((int)count);
        if (type == OnnxElementType.String)
            return OnnxTensor.Create(ReadStrings(value, n), dims);
        void* data = null;
        if (n > 0) api.Check(api.GetTensorMutableData(value, &data));
        return type switch
        {
            OnnxElementType.Float => OnnxTensor.Create(Copy<float>(data, n), dims),
            OnnxElementType.Double => OnnxTensor.Create(Copy<double>(data, n), dims),
            OnnxElementType.Int64 => OnnxTensor.Create(Copy<long>(data, n), dims),
            OnnxElementType.Bool => OnnxTensor.Create(Copy<bool>(data, n), dims),
            _ => throw new NotSupportedException($"Output '{name}' of {Source} has element type {type}; supported: Float, Double, Int64, Bool, String (add a Cast to the graph)."),
        };
    }

    private static T[] Copy<T>(void* data, int n) where T : unmanaged
    {
        var result = new T[n];
        if (n > 0) new ReadOnlySpan<T>(data, n).CopyTo(result);
        return result;
    }

    private string[] ReadStrings(IntPtr value, int n)
    {
        var api = _env.Api;
        var result = new string[n];
        if (n == 0) return result;
        nuint length;
        api.Check(api.GetStringTensorDataLength(value, &length));
        var bytes = new byte[(int)length + 1]; // +1: never pin an empty array
        var offsets = new nuint[n];
        fixed (byte* b = bytes)
        fixed (nuint* o = offsets)
            api.Check(api.GetStringTensorContent(value, b, length, o, (nuint)n));
        for (var i = 0; i < n; i++)
        {
            var start = (int)offsets[i];
            var end = i + 1 < n ? (int)offsets[i + 1] : (int)length;
            result[i] = Encoding.UTF8.GetString(bytes, start, end - start);
        }
        return result;
    }

    private IntPtr PinnedUtf8(string s)
    {
        // Pinned-object-heap arrays never move, so their addresses can be handed to every Run call.
        var count = Encoding.UTF8.GetByteCount(s);
        var bytes = GC.AllocateArray<byte>(count + 1, pinned: true);
        Encoding.UTF8.GetBytes(s, bytes);
        _pinnedNames.Add(bytes);
        return Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0);
    }

    private sealed class SessionHandle : SafeHandle
    {
        private readonly OrtApi _api;

        public SessionHandle(OrtApi api, IntPtr session) : base(IntPtr.Zero, ownsHandle: true)
        {
            _api = api;
            SetHandle(session);
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            _api.ReleaseSession(handle);
            return true;
        }
    }
}
